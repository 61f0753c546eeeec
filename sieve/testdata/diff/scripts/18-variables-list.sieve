require ["variables","fileinto"]; if header :matches "List-Id" "*<*.lists.*>" { fileinto "lists.${2}"; stop; } if header :matches "Subject" "[*] *" { fileinto "${1}"; }
