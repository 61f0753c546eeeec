require "fileinto"; if header :contains "subject" "" { fileinto "has-subject"; } if header :contains "x-none" "" { fileinto "ghost"; }
