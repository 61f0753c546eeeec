require ["body","fileinto"]; if body :text :contains "anvil" { fileinto "anvil"; } if body :content "text/html" :contains "<b>" { fileinto "html"; } if body :raw :contains "BOUND" { fileinto "raw"; }
