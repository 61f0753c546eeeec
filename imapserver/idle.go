package imapserver

import (
	"strings"
	"time"
)

// maxIdleLine bounds what is kept of the line that ends IDLE; "DONE" is
// all a client may send.
const maxIdleLine = 64

// cmdIdle: IDLE (RFC 2177, RFC 9051 §6.3.13). One goroutine per idler,
// with a small stack and no buffers: the wait runs on a fresh goroutine
// (errBlock), which blocks reading the "DONE" line; the change feed
// callback (onChange) interrupts that read with a past read deadline, as
// Shutdown does. After pushing a change (store calls, which grow the
// stack) the wait moves to a fresh goroutine again.
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
	c.idleDeadline = time.Now().Add(c.lim.IdleTimeout)
	c.idleLine = nil
	c.setIdling(true)
	// No buffers while idling: they go back to the server's pools and the
	// writer is borrowed only to push a change.
	c.putReader()
	c.putWriter()
	c.block = c.idleWait
	return errBlock
}

// idleWait waits for the DONE line, pushing changes as they come.
func (c *conn) idleWait() error {
	for {
		if c.srv.shuttingDown() {
			return c.idleEnd(errShutdown)
		}
		// The deadline is set before looking at the pending change, so a
		// change recorded after the look interrupts the read below.
		c.nc.SetReadDeadline(c.idleDeadline)
		if c.pending.Load() != noChange || c.notifyWake.Load() {
			pushed, err := c.idlePush()
			if err != nil {
				return c.idleEnd(err)
			}
			if pushed {
				c.block = c.idleWait
				return errBlock
			}
		}
		b, err := c.idleReadByte()
		if err != nil {
			if isTimeout(err) && time.Now().Before(c.idleDeadline) {
				c.ioErr = nil
				continue // woken by a change or by Shutdown
			}
			return c.idleEnd(err)
		}
		if b == '\n' {
			return c.idleEnd(idleDone(c.idleLine))
		}
		if len(c.idleLine) >= maxIdleLine {
			// No client sends that much instead of DONE: end the
			// connection rather than read on (issue 11, item 14).
			return c.idleEnd(&byeError{code: codeTooBig, text: "expected DONE"})
		}
		c.idleLine = append(c.idleLine, b)
	}
}

// idlePush sends the untagged responses for a pending change.
func (c *conn) idlePush() (pushed bool, err error) {
	changed, list := c.takeChange()
	if list {
		if err := c.checkGone(); err != nil {
			return false, err
		}
	}
	notify := c.notify != nil
	if (!changed || c.sel == nil) && !notify {
		return false, nil
	}
	// The write buffer is borrowed only once the store and the index have
	// answered (syncForce takes it before its first write): thousands of
	// idlers woken by one delivery do not each hold one while they wait.
	if changed && c.sel != nil && !c.notify.quietSelected() {
		if err := c.syncForce(true, true); err != nil {
			return true, err
		}
		c.getWriter()
		c.reportHighestModSeq(false)
	}
	c.getWriter()
	if err := c.notifyPush(); err != nil {
		return true, err
	}
	if err := c.flush(); err != nil {
		return true, err
	}
	c.putWriter()
	return true, nil
}

// idleDone checks the line that ends IDLE.
func idleDone(line []byte) error {
	if !strings.EqualFold(strings.TrimSpace(string(line)), "DONE") {
		return badf("", "expected DONE")
	}
	return nil
}

// idleEnd leaves IDLE: no more wake-ups, buffers back.
func (c *conn) idleEnd(err error) error {
	c.setIdling(false)
	c.idleLine = nil
	c.getWriter()
	c.getReader()
	return err
}

// idleReadByte reads one byte of the line ending IDLE. While nothing
// comes, the connection holds no read buffer: the first byte is read
// straight from the connection; then a buffered reader is taken from the
// pool for the rest of the line (one read per chunk, not per byte), and
// whatever the client pipelined after the line stays in it for the next
// command.
func (c *conn) idleReadByte() (byte, error) {
	if c.br != nil {
		return c.br.ReadByte()
	}
	for {
		n, err := clientReader{c}.Read(c.one[:])
		if n == 1 {
			c.getReader()
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
	was := c.idling
	c.idling = on
	c.wakeMu.Unlock()
	switch {
	case on && !was:
		c.srv.cfg.Metrics.IMAPIdle(1)
	case !on && was:
		c.srv.cfg.Metrics.IMAPIdle(-1)
	}
}
