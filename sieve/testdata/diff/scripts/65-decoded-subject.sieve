require "fileinto"; if header :contains "subject" "Café" { fileinto "cafe"; } if address :localpart :is "from" "pirard" { fileinto "pirard"; } if header :contains "from" "André" { fileinto "andre"; }
