require ["date","relational","fileinto"]; if date :value "ge" :originalzone "date" "hour" "09" { fileinto "after9"; } if date :is :zone "+0000" "date" "date" "2026-12-01" { fileinto "dec1"; }
