redirect "not valid";
