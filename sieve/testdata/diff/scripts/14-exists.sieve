require "fileinto"; if exists ["list-id", "precedence"] { fileinto "list"; } elsif not exists "x-caffeine" { fileinto "decaf"; }
