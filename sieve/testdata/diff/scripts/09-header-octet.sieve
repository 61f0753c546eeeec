require "fileinto"; if header :comparator "i;octet" :contains "subject" "Present" { fileinto "octet"; } else { fileinto "no"; }
