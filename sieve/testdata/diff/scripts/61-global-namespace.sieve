require ["include","variables","fileinto"]; set "global.x" "Gx"; global "x"; fileinto "${x}-${global.x}";
