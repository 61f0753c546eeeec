package pop3server

import "fmt"

// cmdRetr handles RETR msg (RFC 1939 §5): the whole message, dot-stuffed.
func (c *conn) cmdRetr(cmd command) error {
	if len(cmd.args) != 1 {
		return errBadArguments
	}
	_, m, err := c.drop.message(cmd.args[0])
	if err != nil {
		return err
	}
	ctx, cancel := c.storeCtx()
	defer cancel()
	raw, err := c.drop.body(ctx, m)
	if err != nil {
		return err
	}
	c.ok("%d octets", m.size)
	c.writeBody(raw, -1)
	return nil
}

// cmdTop handles TOP msg n (RFC 1939 §7): the header, the blank line and
// the first n lines of the body.
func (c *conn) cmdTop(cmd command) error {
	if len(cmd.args) != 2 {
		return errBadArguments
	}
	_, m, err := c.drop.message(cmd.args[0])
	if err != nil {
		return err
	}
	lines, err := parseNumber(cmd.args[1])
	if err != nil {
		return err
	}
	ctx, cancel := c.storeCtx()
	defer cancel()
	raw, err := c.drop.body(ctx, m)
	if err != nil {
		return err
	}
	c.ok("top of message follows")
	c.writeBody(raw, lines)
	return nil
}

// writeBody sends message data; the trace shows only its line count.
func (c *conn) writeBody(raw []byte, bodyLines int) {
	n := writeMessage(c.bw, raw, bodyLines)
	c.traceOut(fmt.Sprintf("<%d lines of message data>", n))
	c.traceOut(".")
}
