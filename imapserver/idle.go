package imapserver

import (
	"strings"
	"time"
)

// maxIdleLine bounds what is kept of the line that ends IDLE; "DONE" is
// all a client may send.
const maxIdleLine = 64

// cmdIdle: IDLE (RFC 2177, RFC 9051 §6.3.13). The connection goroutine is
// the only one: it blocks reading the "DONE" line, and the change feed
// callback (onChange) interrupts that read with a past read deadline, as
// Shutdown does, so that changes are pushed as they happen. An idle
// connection thus costs one goroutine and, once its buffers are back in
// the server's pools, no buffers.
func cmdIdle(c *conn, cmd *command) error {
	if err := c.endArgs(); err != nil {
		return err
	}
	// Report anything pending before idling.
	if err := c.sync(true); err != nil {
		return err
	}
	c.enc.Raw("+ idling\r\n")
	if err := c.flush(); err != nil {
		return err
	}
	c.block = c.idleWait
	return errBlock
}

// idleWait waits for the DONE line, on a fresh goroutine (see errBlock),
// pushing changes as they come.
func (c *conn) idleWait() error {
	c.setIdling(true)
	defer c.setIdling(false)
	// No buffers while idling: they go back to the server's pools and the
	// writer is borrowed only to push a change.
	c.putReader()
	c.putWriter()
	defer c.getReader()
	defer c.getWriter()
	deadline := time.Now().Add(c.srv.cfg.IdleTimeout)
	var line []byte // what the client sent so far, across interruptions
	tooLong := false
	for {
		if c.srv.shuttingDown() {
			return errShutdown
		}
		// The deadline is set before looking at the pending change, so a
		// change recorded after the look interrupts the read below.
		c.nc.SetReadDeadline(deadline)
		if c.pendingChange() && c.sel != nil {
			c.getWriter()
			if err := c.syncForce(true, true); err != nil {
				return err
			}
			if err := c.flush(); err != nil {
				return err
			}
			c.putWriter()
		}
		b, err := c.idleReadByte()
		if err != nil {
			if isTimeout(err) && time.Now().Before(deadline) {
				continue // woken by a change or by Shutdown
			}
			return err
		}
		if b != '\n' {
			if len(line) < maxIdleLine {
				line = append(line, b)
			} else {
				tooLong = true
			}
			continue
		}
		if tooLong || !strings.EqualFold(strings.TrimSpace(string(line)), "DONE") {
			return badf("", "expected DONE")
		}
		return nil
	}
}

// idleReadByte reads one byte of the line ending IDLE: from the buffered
// reader while it holds pipelined input, else straight from the
// connection, one byte at a time, so nothing after the line is consumed
// and no read buffer is needed while idling.
func (c *conn) idleReadByte() (byte, error) {
	if c.br != nil && c.br.Buffered() > 0 {
		return c.br.ReadByte()
	}
	for {
		n, err := c.nc.Read(c.one[:])
		if n == 1 {
			return c.one[0], nil
		}
		if err != nil {
			return 0, err
		}
	}
}

// setIdling tells onChange whether to interrupt the connection's read.
func (c *conn) setIdling(on bool) {
	c.wakeMu.Lock()
	c.idling = on
	c.wakeMu.Unlock()
}
