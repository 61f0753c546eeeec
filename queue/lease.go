package queue

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"time"
)

// Several nodes may run the queue on one store. Each runner claims the
// items it works on (store.Store.ClaimQueue): the claim leases them to its
// Owner for Lease, so no other runner picks them; the runner releases an
// item when its attempt is over. A runner that dies mid-delivery leaves
// its items leased until the lease ends, and then any runner takes them
// over. So that a live runner never loses an item it is still working on,
// every attempt is cut off at AttemptTimeout, which is shorter than the
// lease.

// dialTimeout bounds connecting to one server (the default Dial).
const dialTimeout = 30 * time.Second

// attemptCommands is how many command timeouts one item's attempt is given:
// greeting, EHLO, STARTTLS, EHLO again, MAIL, RCPT, DATA, the message (2,
// as go-smtp's SubmissionTimeout) and QUIT, with room for a second server.
const attemptCommands = 12

// defaultAttemptTimeout is the bound on one item's delivery attempt derived
// from the per-command timeout: 1 h with the default 5 min.
func defaultAttemptTimeout(commandTimeout time.Duration) time.Duration {
	return dialTimeout + attemptCommands*commandTimeout
}

// leaseFor is the lease taken on an item for one attempt: the attempt's
// bound plus time to record its outcome and send a DSN.
func leaseFor(attempt time.Duration) time.Duration {
	return attempt + max(attempt/4, time.Minute)
}

// defaultOwner names this runner for leases: host, process and a random
// part, so two runners never share a name even on one host.
func defaultOwner() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "localhost"
	}
	var b [6]byte
	rand.Read(b[:])
	return fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(b[:]))
}

// release ends this runner's lease on item id. It runs after Shutdown may
// have cancelled q.ctx: a lease left behind keeps the item from the other
// nodes until it ends.
func (q *Queue) release(id int64) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(q.ctx), 10*time.Second)
	defer cancel()
	if err := q.cfg.Store.ReleaseQueueItem(ctx, id, q.cfg.Owner); err != nil {
		q.log.Error("queue: releasing item", "qid", id, "err", err)
	}
}
