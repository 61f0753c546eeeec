package imapserver

import (
	"time"

	"github.com/mailroom/mailroom/store"
)

// cmdUnauthenticate: UNAUTHENTICATE (RFC 8437). The session goes back to
// the not-authenticated state as if freshly connected (TLS stays): the
// selected mailbox is closed without expunging, the change feed is left,
// ENABLEd extensions are forgotten and the pre-login limits and timeout
// apply again. The tagged OK carries the not-authenticated capabilities.
func cmdUnauthenticate(c *conn, cmd *command) error {
	if err := c.endArgs(); err != nil {
		return err
	}
	c.loggedOut()
	c.okCode = "CAPABILITY " + c.capabilities()
	return nil
}

// loggedOut undoes loggedIn.
func (c *conn) loggedOut() {
	if c.cancelWatch != nil {
		c.cancelWatch()
		c.cancelWatch = nil
	}
	c.unwatchShared()
	c.log.Info("imap unauthenticate")
	c.sel = nil
	c.setNotify(nil)
	c.acct = store.Account{}
	c.state = stateNotAuth
	c.rev2, c.condstore, c.qresync, c.condstoreBefore = false, false, false, false
	c.pending.Store(noChange)
	c.goneChecked, c.goneHighest = time.Time{}, 0
	c.searchKeyCount = 0
	c.log = c.connLog
	c.setLimits()
}
