package pop3server

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"github.com/mailroom/mailroom/store"
)

// accountWatcher is what a Backend offers (store.Store does) so that a
// session ends when its account is deleted (mailroom user delete): the
// account's change feed, which spans nodes on PostgreSQL, and a way to
// ask whether the account still exists.
type accountWatcher interface {
	AccountByID(ctx context.Context, id int64) (store.Account, error)
	Watch(accountID int64) (changes <-chan store.Change, cancel func())
}

var _ accountWatcher = (store.Store)(nil)

// watchFuncer is the callback form of Watch (store.Feed), which needs no
// goroutine per session.
type watchFuncer interface {
	WatchFunc(accountID int64, fn func(store.Change)) (cancel func())
}

// goneCheckInterval is how often a session checks anyway, before a
// command, that its account still exists: a deletion by another process
// on the same SQLite file reaches no change feed of this one.
const goneCheckInterval = time.Second

// errAccountGone ends a session whose account was deleted.
var errAccountGone = errors.New("pop3server: account was deleted")

// accountState is a session's watch on its account.
type accountState struct {
	changed atomic.Bool // the account's mailbox list changed (or it was deleted)
	cancel  func()
	checked time.Time // when the account was last found in place
}

// watchAccount subscribes the session to its account's change feed: a
// change to the mailbox list (MailboxID 0: create, delete, rename, or the
// account's deletion) wakes a session waiting for a command.
func (c *conn) watchAccount() {
	w, ok := c.srv.cfg.Maildrop.(accountWatcher)
	if !ok {
		return
	}
	c.acctState.checked = c.srv.cfg.Now()
	onChange := func(ch store.Change) {
		if ch.MailboxID == 0 && ch.Metadata == nil {
			c.acctState.changed.Store(true)
			c.Interrupt()
		}
	}
	if wf, ok := w.(watchFuncer); ok {
		c.acctState.cancel = wf.WatchFunc(c.acct.ID, onChange)
		return
	}
	changes, cancel := w.Watch(c.acct.ID)
	go func() {
		for ch := range changes {
			onChange(ch)
		}
	}()
	c.acctState.cancel = cancel
}

// checkAccount returns errAccountGone when the session's account no longer
// exists. It asks the store only after a change or once goneCheckInterval
// has passed.
func (c *conn) checkAccount() error {
	w, ok := c.srv.cfg.Maildrop.(accountWatcher)
	if !ok || c.state != stateTransaction {
		return nil
	}
	now := c.srv.cfg.Now()
	if !c.acctState.changed.Swap(false) && now.Sub(c.acctState.checked) < goneCheckInterval {
		return nil
	}
	_, err := w.AccountByID(c.ctx, c.acct.ID)
	if errors.Is(err, store.ErrNotFound) {
		return errAccountGone
	}
	if err == nil {
		c.acctState.checked = now
	}
	return nil // a store error: the command will meet it too
}
