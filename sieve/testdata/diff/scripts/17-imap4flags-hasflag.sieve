require ["imap4flags","fileinto"]; addflag "a b"; if hasflag :is "B" { fileinto "has-b"; }
