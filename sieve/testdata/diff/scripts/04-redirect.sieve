redirect "fred@example.net";
