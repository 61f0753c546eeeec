package pop3server

// cmdUser handles USER name (RFC 1939 §7). Any name is accepted, so that
// the reply does not tell which accounts exist; PASS checks both.
func (c *conn) cmdUser(cmd command) error {
	if !c.plaintextOK() {
		return errPlaintextDenied
	}
	if len(cmd.args) != 1 {
		c.user = ""
		return errBadArguments
	}
	c.user = cmd.args[0]
	c.ok("send PASS")
	return nil
}

// cmdPass handles PASS string (RFC 1939 §7). The password is the whole
// rest of the line, spaces included. A failure returns the session to the
// start of the AUTHORIZATION state.
func (c *conn) cmdPass(cmd command) error {
	if !c.plaintextOK() {
		return errPlaintextDenied
	}
	user := c.user
	c.user = ""
	if user == "" {
		return errorf("", "USER first")
	}
	if cmd.rest == "" {
		return errBadArguments
	}
	ctx, cancel := c.storeCtx()
	defer cancel()
	acct, err := c.checkPassword(ctx, user, cmd.rest)
	if err != nil {
		return err
	}
	return c.login(acct)
}
