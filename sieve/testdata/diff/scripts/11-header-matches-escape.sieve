require "fileinto"; if header :matches "x-caffeine" "C?H10N4O*" { fileinto "coffee"; } if header :matches "subject" "*\\?*" { fileinto "question"; }
