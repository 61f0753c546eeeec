require "fileinto"; if allof (anyof (false, header :contains "from" "coyote"), not size :over 10K) { fileinto "both"; } else { keep; }
