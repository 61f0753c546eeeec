package managesieve

// cmdUnauthenticate: UNAUTHENTICATE (RFC 5804 §2.14.1): back to the
// non-authenticated state on the same connection.
func cmdUnauthenticate(c *conn, cmd *command) error {
	if len(cmd.args) != 0 {
		return errBadArguments
	}
	c.log.Info("logout (unauthenticate)")
	c.acct = nil
	c.log = c.srv.log.With("remote", c.nc.RemoteAddr().String())
	c.ok("", "Unauthenticate completed")
	return nil
}
