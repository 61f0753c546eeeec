require ["variables","fileinto"]; set "a" "juMBlEd lETteRS"; set :length "n" "${a}"; set :upper :lowerfirst "u" "${a}"; fileinto "${n}-${u}";
