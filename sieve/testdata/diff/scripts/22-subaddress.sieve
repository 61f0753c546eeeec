require ["subaddress","fileinto"]; if address :detail "cc" "urgent" { fileinto "urgent"; } if address :user "cc" "boss" { fileinto "boss"; }
