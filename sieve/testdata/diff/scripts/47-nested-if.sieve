require "fileinto"; if true { if false { discard; } elsif header :contains "from" "coyote" { if size :over 1 { fileinto "deep"; stop; } } } fileinto "shallow";
