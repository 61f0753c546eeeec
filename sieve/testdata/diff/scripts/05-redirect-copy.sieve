require "copy"; redirect :copy "fred@example.net"; redirect "fred@example.net";
