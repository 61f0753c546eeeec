require ["vacation","vacation-seconds"]; vacation :seconds 3600 :subject "Away" :handle "h" "I am away";
