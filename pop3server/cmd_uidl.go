package pop3server

import "fmt"

// cmdUidl handles UIDL [msg] (RFC 1939 §7): the unique-id listing of one
// message, or of every message not marked deleted.
func (c *conn) cmdUidl(cmd command) error {
	switch len(cmd.args) {
	case 0:
		c.ok("unique-id listing follows")
		for i, m := range c.drop.msgs {
			if !m.deleted {
				c.writeLine(fmt.Sprintf("%d %s", i+1, c.drop.uidl(m)))
			}
		}
		c.writeLine(".")
		return nil
	case 1:
		n, m, err := c.drop.message(cmd.args[0])
		if err != nil {
			return err
		}
		c.ok("%d %s", n, c.drop.uidl(m))
		return nil
	}
	return errBadArguments
}
