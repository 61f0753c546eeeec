package managesieve

// cmdCheckScript: CHECKSCRIPT script (RFC 5804 §2.12): PUTSCRIPT's
// checks without storing.
func cmdCheckScript(c *conn, cmd *command) error {
	args, err := stringArgs(cmd, 1)
	if err != nil {
		return err
	}
	if err := c.compileScript(args[0]); err != nil {
		return err
	}
	c.ok("", "Script is valid")
	return nil
}
