if true { keep; 
