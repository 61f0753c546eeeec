package managesieve

// cmdNoop: NOOP [tag] (RFC 5804 §2.13); the tag comes back in a TAG
// response code.
func cmdNoop(c *conn, cmd *command) error {
	switch {
	case len(cmd.args) == 0:
		c.ok("", "NOOP completed")
	case len(cmd.args) == 1 && !cmd.args[0].atom:
		c.ok("TAG "+quoteString(cmd.args[0].val), "Done")
	default:
		return errBadArguments
	}
	return nil
}
