require "fileinto"; if header :is "subject" "i have a present for you" { fileinto "present"; }
