if address :is "x-foo" "a@b" { discard; }
