require ["copy","fileinto"]; fileinto :copy "Copies";
