require "vacation"; if header :contains "subject" "cyrus" { vacation "send mail to cyrus-bugs"; } else { vacation :days 3 "I am away"; }
