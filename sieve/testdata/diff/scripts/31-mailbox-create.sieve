require ["fileinto","mailbox"]; fileinto :create "New.Folder";
