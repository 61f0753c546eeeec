require ["variables","fileinto"]; set "a" "1"; set "A" "2"; if string "${a}" "2" { fileinto "ci"; }
