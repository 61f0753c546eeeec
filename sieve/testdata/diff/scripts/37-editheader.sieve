require ["editheader","fileinto"]; addheader "X-Sieve" "seen"; if header :is "x-sieve" "seen" { fileinto "edited"; } deleteheader "x-caffeine"; if not exists "x-caffeine" { fileinto "decaf"; }
