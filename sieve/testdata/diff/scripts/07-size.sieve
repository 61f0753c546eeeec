if size :over 400 { discard; } elsif size :under 300 { fileinto "small"; }
