package managesieve

// cmdPutScript: PUTSCRIPT name script (RFC 5804 §2.6): the script is
// compiled first (a NO names the line of the first error), then
// stored, replacing one of the same name; an active script stays active.
func cmdPutScript(c *conn, cmd *command) error {
	args, err := stringArgs(cmd, 2)
	if err != nil {
		return err
	}
	name, src := args[0], args[1]
	if err := checkName(name); err != nil {
		return err
	}
	if err := c.checkSpace(name, int64(len(src))); err != nil {
		return err
	}
	if err := c.compileScript(src); err != nil {
		return err
	}
	ctx, cancel := c.storeCtx()
	defer cancel()
	if _, err := c.srv.cfg.Store.PutSieveScript(ctx, c.acct.ID, name, []byte(src)); err != nil {
		return err
	}
	c.log.Info("script stored", "script", name, "bytes", len(src))
	c.ok("", "Putscript completed")
	return nil
}
