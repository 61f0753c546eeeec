require "vacation"; vacation :addresses ["friend@example.net"] :from "me@example.com" "away";
