package pop3server

import "fmt"

// cmdList handles LIST [msg] (RFC 1939 §5): the scan listing of one
// message, or of every message not marked deleted.
func (c *conn) cmdList(cmd command) error {
	ctx, cancel := c.storeCtx()
	defer cancel()
	switch len(cmd.args) {
	case 0:
		n, total, err := c.drop.stat(ctx)
		if err != nil {
			return err
		}
		c.ok("%d messages (%d octets)", n, total)
		for i, m := range c.drop.msgs {
			if m.deleted {
				continue
			}
			// stat computed every size; size cannot fail now.
			sz, _ := c.drop.size(ctx, m)
			c.writeLine(fmt.Sprintf("%d %d", i+1, sz))
		}
		c.writeLine(".")
		return nil
	case 1:
		n, m, err := c.drop.message(cmd.args[0])
		if err != nil {
			return err
		}
		sz, err := c.drop.size(ctx, m)
		if err != nil {
			return err
		}
		c.ok("%d %d", n, sz)
		return nil
	}
	return errBadArguments
}
