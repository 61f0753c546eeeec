package managesieve

import "strconv"

// cmdGetScript: GETSCRIPT name (RFC 5804 §2.9): the script as a literal.
func cmdGetScript(c *conn, cmd *command) error {
	args, err := stringArgs(cmd, 1)
	if err != nil {
		return err
	}
	if err := checkName(args[0]); err != nil {
		return errNoSuchScript
	}
	ctx, cancel := c.storeCtx()
	defer cancel()
	sc, err := c.srv.cfg.Store.SieveScript(ctx, c.acct.ID, args[0])
	if err != nil {
		return err
	}
	c.traceOut("{" + strconv.Itoa(len(sc.Source)) + "} <script>")
	c.bw.WriteString("{" + strconv.Itoa(len(sc.Source)) + "}\r\n")
	c.bw.Write(sc.Source)
	c.bw.WriteString("\r\n")
	c.ok("", "Getscript completed")
	return nil
}
