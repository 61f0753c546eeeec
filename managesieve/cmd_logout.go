package managesieve

// cmdLogout: LOGOUT (RFC 5804 §2.3): OK, then the server closes.
func cmdLogout(c *conn, cmd *command) error {
	if len(cmd.args) != 0 {
		return errBadArguments
	}
	c.ok("", "Logout completed")
	c.done = true
	return nil
}
