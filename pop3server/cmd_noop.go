package pop3server

// cmdNoop handles NOOP (RFC 1939 §5).
func (c *conn) cmdNoop(cmd command) error {
	if len(cmd.args) != 0 {
		return errBadArguments
	}
	c.writeLine(statusOK)
	return nil
}
