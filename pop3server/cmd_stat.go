package pop3server

// cmdStat handles STAT (RFC 1939 §5): messages not marked deleted and
// their total size.
func (c *conn) cmdStat(cmd command) error {
	if len(cmd.args) != 0 {
		return errBadArguments
	}
	ctx, cancel := c.storeCtx()
	defer cancel()
	n, size, err := c.drop.stat(ctx)
	if err != nil {
		return err
	}
	c.ok("%d %d", n, size)
	return nil
}
