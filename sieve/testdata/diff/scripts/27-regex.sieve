require ["regex","variables","fileinto"]; if header :regex "subject" "^\\[([a-z-]+)\\]" { fileinto "re-${1}"; } elsif address :regex "from" "^([a-z]+)@" { fileinto "from-${1}"; }
