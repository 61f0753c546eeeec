require ["body","fileinto"]; if body :contains "anvil" { fileinto "anvil"; } if body :matches "*see*" { fileinto "see"; }
