require "fileinto"; if header :matches "subject" ["*money*fast*", "*university*dipl*mas*"] { fileinto "spam"; }
