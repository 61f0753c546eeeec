require ["date","fileinto","variables"]; if date :originalzone :matches "date" "zone" "*" { fileinto "z${1}"; } if date :zone "+0000" :matches "date" "weekday" "*" { fileinto "w${1}"; }
