require "fileinto";
if header :contains "subject" text:
present
.
{ fileinto "ml"; }
