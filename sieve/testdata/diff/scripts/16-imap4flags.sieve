require ["imap4flags","fileinto"]; setflag "\\Seen"; addflag ["\\Flagged", "work"]; removeflag "work"; if header :contains "subject" "present" { fileinto :flags "gift" "Gifts"; }
