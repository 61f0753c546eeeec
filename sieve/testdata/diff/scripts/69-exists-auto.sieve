require "fileinto"; if exists "auto-submitted" { fileinto "auto"; } if not exists ["x-a", "x-b"] { fileinto "none"; } if size :over 1K { fileinto "big"; } elsif size :under 400 { fileinto "small"; }
