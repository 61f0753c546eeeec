package pop3server

import (
	"bufio"
	"fmt"
	"log/slog"
)

// cmdRetr handles RETR msg (RFC 1939 §5): the whole message, dot-stuffed.
func (c *conn) cmdRetr(cmd command) error {
	if len(cmd.args) != 1 {
		return errBadArguments
	}
	n, m, err := c.drop.message(cmd.args[0])
	if err != nil {
		return err
	}
	ctx, cancel := c.storeCtx()
	defer cancel()
	buf := c.srv.getBodyBuf()
	defer c.srv.putBodyBuf(buf)
	raw, inBuf, err := c.drop.retrBody(ctx, n, m, *buf)
	if err != nil {
		return err
	}
	if inBuf {
		*buf = raw // grown: keep the larger buffer pooled
	}
	c.writeBody(fmt.Sprintf("%s %d octets", statusOK, m.size), raw, -1)
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
	buf := c.srv.getBodyBuf()
	defer c.srv.putBodyBuf(buf)
	raw, err := c.drop.bodyInto(ctx, m, *buf)
	if err != nil {
		return err
	}
	*buf = raw
	c.writeBody(statusOK+" top of message follows", raw, lines)
	return nil
}

// writeBody sends the status line and message data; the trace shows
// only the data's line count. Both go through a pooled 64 KiB buffer in
// front of the connection's (4 KiB) one, so that a message up to 64 KiB
// leaves with its status line in one write, and a larger one, or one
// with many lines to change (dot-stuffing, bare LFs), in writes of 64 KiB
// or more; runs of lines that need no change bypass both buffers once
// the status line has gone (writeWhole).
func (c *conn) writeBody(status string, raw []byte, bodyLines int) {
	c.traceOut(status)
	big := c.srv.retrBuffers.Get().(*bufio.Writer)
	big.Reset(c.bw)
	big.WriteString(status)
	big.WriteString("\r\n")
	n := writeMessage(big, raw, bodyLines)
	big.Flush() // an error is c.bw's too, and surfaces at its flush
	big.Reset(nil)
	c.srv.retrBuffers.Put(big)
	if c.log.Enabled(c.ctx, slog.LevelDebug) { // no formatting per message otherwise
		c.traceOut(fmt.Sprintf("<%d lines of message data>", n))
		c.traceOut(".")
	}
}

// retrBufferSize is the size of the pooled buffers of writeBody.
const retrBufferSize = 64 << 10

// maxPooledBody is the largest body buffer kept for reuse; a larger
// message's buffer is left to the garbage collector.
const maxPooledBody = 4 << 20

// getBodyBuf returns a pooled buffer for one message's bytes.
func (s *Server) getBodyBuf() *[]byte {
	if b, ok := s.bodyBufs.Get().(*[]byte); ok {
		return b
	}
	b := make([]byte, 0, 64<<10)
	return &b
}

func (s *Server) putBodyBuf(b *[]byte) {
	if cap(*b) > maxPooledBody {
		return
	}
	*b = (*b)[:0]
	s.bodyBufs.Put(b)
}
