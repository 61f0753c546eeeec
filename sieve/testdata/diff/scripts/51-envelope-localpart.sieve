require ["envelope","fileinto"]; if envelope :localpart :is "from" "sender" { fileinto "lp"; } if envelope :all :matches "to" "*@*" { fileinto "to"; }
