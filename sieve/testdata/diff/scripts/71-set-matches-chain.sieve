require ["variables","fileinto"]; if header :matches "from" "* <*@*>" { set "name" "${1}"; set :lower "dom" "${3}"; } if header :matches "subject" "*" { set "subj" "${1}"; } fileinto "${dom}";
