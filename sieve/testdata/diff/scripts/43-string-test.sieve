require ["variables","fileinto"]; set "s" "${unknown}"; if string :is "${s}" "" { fileinto "empty"; } if string :matches "a.b.c" "*.*" { fileinto "${1}_${2}"; }
