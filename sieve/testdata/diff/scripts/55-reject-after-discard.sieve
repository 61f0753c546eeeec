require "reject"; discard; reject "nope";
