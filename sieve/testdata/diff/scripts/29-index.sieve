require ["index","fileinto"]; if address :index 2 :is "to" "friend@example.net" { fileinto "second"; }
