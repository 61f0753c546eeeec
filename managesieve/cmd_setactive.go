package managesieve

// cmdSetActive: SETACTIVE name (RFC 5804 §2.8); "" deactivates every
// script.
func cmdSetActive(c *conn, cmd *command) error {
	args, err := stringArgs(cmd, 1)
	if err != nil {
		return err
	}
	name := args[0]
	if name != "" {
		if err := checkName(name); err != nil {
			return errNoSuchScript
		}
	}
	ctx, cancel := c.storeCtx()
	defer cancel()
	if err := c.srv.cfg.Store.ActivateSieveScript(ctx, c.acct.ID, name); err != nil {
		return err
	}
	c.log.Info("script activated", "script", name)
	c.ok("", "Setactive completed")
	return nil
}
