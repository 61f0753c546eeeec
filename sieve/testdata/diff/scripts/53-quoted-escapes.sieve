require "fileinto"; if header :contains "from" "\"Road Runner\"" { fileinto "quoted"; } if header :contains "from" "Road" { fileinto "road"; }
