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
	buf := c.srv.getBodyBuf()
	defer c.srv.putBodyBuf(buf)
	raw, err := c.drop.bodyInto(ctx, m, *buf)
	if err != nil {
		return err
	}
	*buf = raw
	c.ok("top of message follows")
	c.writeBody(raw, lines)
	return nil
}

// writeBody sends message data; the trace shows only its line count. A
// larger message goes through a pooled 64 KiB buffer in front of the
// connection's (4 KiB) one, so that a message with many lines to change
// (dot-stuffing, bare LFs) still leaves in large writes; runs of lines
// that need no change bypass both buffers (writeWhole).
func (c *conn) writeBody(raw []byte, bodyLines int) {
	w := c.bw
	var big *bufio.Writer
	if len(raw) > retrBufferSize/4 {
		big = c.srv.retrBuffers.Get().(*bufio.Writer)
		big.Reset(c.bw)
		w = big
	}
	n := writeMessage(w, raw, bodyLines)
	if big != nil {
		big.Flush() // an error is c.bw's too, and surfaces at its flush
		big.Reset(nil)
		c.srv.retrBuffers.Put(big)
	}
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
