package smtpserver

import (
	"context"
	"strings"
)

// Queue takes mail for other domains from authenticated clients (package
// queue implements it). EnqueueAs returns once the message is durable; it
// DKIM-signs only with signDomain, the domain of the From: address the
// submitter was found to own (checkAuthor), and "" (mail forwarded
// through an alias for an unauthenticated sender) signs nothing.
type Queue interface {
	EnqueueAs(ctx context.Context, from string, rcpts []string, raw []byte, signDomain string) (int64, error)
}

// remoteRecipients returns the addresses of the recipients that go to the
// outbound queue, each once (aliases may name one several times).
func (ss *session) remoteRecipients() []string {
	var out []string
	seen := make(map[string]bool)
	for _, rc := range ss.recipients {
		if rc.remote && !seen[strings.ToLower(rc.addr)] {
			seen[strings.ToLower(rc.addr)] = true
			out = append(out, rc.addr)
		}
	}
	return out
}
