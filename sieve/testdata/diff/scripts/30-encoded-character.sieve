require ["encoded-character","fileinto"]; if header :contains "subject" "${hex:70 72 65 73 65 6e 74}" { fileinto "${unicode:263a}"; }
