package pop3server

// cmdQuit handles QUIT (RFC 1939 §4 and §6). In the AUTHORIZATION state it
// just closes; in the TRANSACTION state it enters UPDATE and expunges the
// messages marked deleted.
func (c *conn) cmdQuit(cmd command) error {
	c.done = true
	if c.state != stateTransaction {
		c.ok("%s POP3 server signing off", c.srv.cfg.Hostname)
		return nil
	}
	c.state = stateUpdate
	c.drop.stopReadAhead() // nothing more to send
	ctx, cancel := c.storeCtx()
	defer cancel()
	n, err := c.drop.commit(ctx)
	// The maildrop is released before the reply: a client that reconnects
	// as soon as it reads it (Python's poplib does) must not find it
	// locked by the session it just ended (RFC 1939 §6: UPDATE releases
	// the lock, then replies).
	c.unlock()
	if err != nil {
		c.log.Error("UPDATE failed", "err", err)
		c.err(codeSysTemp, "some deleted messages not removed")
		return nil
	}
	if n > 0 {
		c.log.Info("UPDATE", "expunged", n)
	}
	c.ok("%s POP3 server signing off", c.srv.cfg.Hostname)
	return nil
}
