package managesieve

// cmdListScripts: LISTSCRIPTS (RFC 5804 §2.7): one line per script,
// the active one marked ACTIVE.
func cmdListScripts(c *conn, cmd *command) error {
	if len(cmd.args) != 0 {
		return errBadArguments
	}
	ctx, cancel := c.storeCtx()
	defer cancel()
	list, err := c.srv.cfg.Store.SieveScripts(ctx, c.acct.ID)
	if err != nil {
		return err
	}
	for _, s := range list {
		line := quoteString(s.Name)
		if s.Active {
			line += " ACTIVE"
		}
		c.writeLine(line)
	}
	c.ok("", "Listscripts completed")
	return nil
}
