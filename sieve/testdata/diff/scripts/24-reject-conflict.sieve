require ["reject","fileinto"]; fileinto "x"; reject "no";
