require ["variables","fileinto"]; if address :matches ["To","Cc"] ["*@**.com"] { set :lower "d" "${3}"; fileinto "biz.${d}"; }
