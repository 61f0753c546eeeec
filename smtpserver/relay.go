package smtpserver

import "context"

// Queue takes mail for other domains from authenticated clients (package
// queue implements it). EnqueueAs returns once the message is durable; it
// DKIM-signs only with signDomain, the domain of the From: address the
// submitter was found to own (checkAuthor), and "" (mail forwarded
// through an alias for an unauthenticated sender) signs nothing.
type Queue interface {
	EnqueueAs(ctx context.Context, from string, rcpts []string, raw []byte, signDomain string) (int64, error)
}
