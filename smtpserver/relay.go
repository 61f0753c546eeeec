package smtpserver

import (
	"context"
	"strings"
)

// Queue takes mail for other domains from authenticated clients (package
// queue implements it). Enqueue returns once the message is durable.
type Queue interface {
	Enqueue(ctx context.Context, from string, rcpts []string, raw []byte) (int64, error)
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
