require "fileinto"; if address :domain :is "to" "EXAMPLE.COM" { fileinto "case"; }
