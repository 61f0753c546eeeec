require ["regex","fileinto"]; if header :regex "subject" "MONEY" { fileinto "ci"; } if header :regex :comparator "i;octet" "subject" "MONEY" { fileinto "cs"; }
