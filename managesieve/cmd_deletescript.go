package managesieve

var errDeleteActive = &noError{code: codeActive, text: "you may not delete an active script"}

// cmdDeleteScript: DELETESCRIPT name (RFC 5804 §2.10): the active script
// is refused (ACTIVE).
func cmdDeleteScript(c *conn, cmd *command) error {
	args, err := stringArgs(cmd, 1)
	if err != nil {
		return err
	}
	name := args[0]
	if err := checkName(name); err != nil {
		return errNoSuchScript
	}
	ctx, cancel := c.storeCtx()
	defer cancel()
	sc, err := c.srv.cfg.Store.SieveScript(ctx, c.acct.ID, name)
	if err != nil {
		return err
	}
	if sc.Active {
		return errDeleteActive
	}
	if err := c.srv.cfg.Store.DeleteSieveScript(ctx, c.acct.ID, name); err != nil {
		return err
	}
	c.log.Info("script deleted", "script", name)
	c.ok("", "Deletescript completed")
	return nil
}
