require ["envelope","fileinto"]; if envelope :is "from" "sender@example.org" { fileinto "env-from"; } if envelope :domain :is "to" "example.com" { fileinto "env-to"; }
