require ["variables","fileinto"]; if header :matches "x-caffeine" "C?H??N?O?" { fileinto "q-${1}${2}${3}"; }
