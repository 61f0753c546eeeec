package pop3server

import (
	"context"

	"github.com/mailroom/mailroom/auth"
	"github.com/mailroom/mailroom/store"
)

// checkPassword authenticates user with pass for this connection.
func (c *conn) checkPassword(ctx context.Context, user, pass string) (store.Account, error) {
	if c.srv.authenticate == nil {
		return store.Account{}, errorf(codeSysPerm, "authentication is not configured")
	}
	return c.srv.authenticate(ctx, user, pass, c.nc.RemoteAddr())
}

// login locks the account's maildrop, takes the snapshot and enters the
// TRANSACTION state (RFC 1939 §4).
func (c *conn) login(acct store.Account) error {
	if !c.srv.locks.tryLock(acct.ID) {
		c.log.Info("maildrop in use", "account", acct.Email)
		return errInUse
	}
	c.locked = &acct.ID // released by close even if what follows panics
	ctx, cancel := c.storeCtx()
	defer cancel()
	d, err := openMaildrop(ctx, c.srv.cfg.Maildrop, c.srv.cfg.Index, acct.ID)
	if err != nil {
		c.unlock()
		return err
	}
	d.batches = &c.srv.batches
	c.acct, c.drop, c.state, c.user = acct, d, stateTransaction, ""
	c.watchAccount()
	c.log = c.log.With("account", acct.Email)
	c.log.Info("login", "messages", len(d.msgs))
	c.ok("maildrop locked and ready")
	return nil
}

// unlock releases the maildrop lock, if the session holds it.
func (c *conn) unlock() {
	if c.locked != nil {
		c.srv.locks.unlock(*c.locked)
		c.locked = nil
	}
}

// saslConfig is the AUTH configuration for this connection: PLAIN/LOGIN
// through checkPassword, SCRAM through the Authenticator. result gets the
// outcome of the credential check.
func (c *conn) saslConfig(ctx context.Context, result func(store.Account, error)) auth.SASLConfig {
	var cfg auth.SASLConfig
	if c.srv.cfg.Auth != nil {
		cfg = c.srv.cfg.Auth.SASLConfig(ctx, c.nc.RemoteAddr(), c.tlsState(), result)
	}
	cfg.Check = func(user, pass string) error {
		acct, err := c.checkPassword(ctx, user, pass)
		result(acct, err)
		return err
	}
	return cfg
}
