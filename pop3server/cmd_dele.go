package pop3server

// cmdDele handles DELE msg (RFC 1939 §5). The message is only marked; it
// is removed in the UPDATE state, if the session gets there.
func (c *conn) cmdDele(cmd command) error {
	if len(cmd.args) != 1 {
		return errBadArguments
	}
	n, m, err := c.drop.message(cmd.args[0])
	if err != nil {
		return err
	}
	m.deleted = true
	c.ok("message %d deleted", n)
	return nil
}

// cmdRset handles RSET (RFC 1939 §5): unmark every deleted message.
func (c *conn) cmdRset(cmd command) error {
	if len(cmd.args) != 0 {
		return errBadArguments
	}
	c.drop.reset()
	ctx, cancel := c.storeCtx()
	defer cancel()
	n, size, err := c.drop.stat(ctx)
	if err != nil {
		return err
	}
	c.ok("maildrop has %d messages (%d octets)", n, size)
	return nil
}
