package managesieve

import "strconv"

// cmdHaveSpace: HAVESPACE name size (RFC 5804 §2.5): whether PUTSCRIPT
// of size bytes as name would fit the quotas.
func cmdHaveSpace(c *conn, cmd *command) error {
	if len(cmd.args) != 2 || cmd.args[0].atom || !cmd.args[1].atom {
		return errBadArguments
	}
	name := cmd.args[0].val
	size, err := strconv.ParseUint(cmd.args[1].val, 10, 32)
	if err != nil {
		return errBadArguments
	}
	if err := checkName(name); err != nil {
		return err
	}
	if err := c.checkSpace(name, int64(size)); err != nil {
		return err
	}
	c.ok("", "Putscript would succeed")
	return nil
}
