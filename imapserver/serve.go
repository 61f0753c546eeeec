package imapserver

import (
	"errors"
	"fmt"
	"io"
	"net"
	"runtime/debug"
)

// serve runs the connection until LOGOUT, an I/O error, timeout or
// shutdown. With resume set it first finishes a command that blocks (IDLE)
// and that command() moved to this fresh goroutine: an idler then holds
// only a small stack, not the one that grew during LOGIN and SELECT.
func (c *conn) serve(resume func() error) {
	moved := false
	defer func() {
		if v := recover(); v != nil {
			c.log.Error("panic in imap connection", "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
		}
		if moved {
			return // the connection lives on in another goroutine
		}
		if c.cancelWatch != nil {
			c.cancelWatch()
		}
		c.unwatchShared()
		c.putReader()
		c.putWriter()
		c.cancel()
		c.nc.Close()
		c.raw.Close()
		c.srv.connDone(c)
	}()
	if resume == nil {
		if err := c.handshake(); err != nil {
			return
		}
		c.log.Debug("imap connection")
		c.enc.Raw("* OK [CAPABILITY ").Raw(c.capabilities()).Raw("] mailroom ready\r\n")
		if c.flush() != nil {
			return
		}
	} else if err := resume(); err != nil {
		if err == errMoved {
			moved = true
			return
		}
		c.end(err)
		return
	}
	for c.state != stateLogout {
		if err := c.command(); err != nil {
			if err == errMoved {
				moved = true
				return
			}
			c.end(err)
			return
		}
	}
}

// end says goodbye when the connection ends on err.
func (c *conn) end(err error) {
	if errors.Is(err, errHandshake) {
		return
	}
	if errors.Is(err, errShutdown) || c.srv.shuttingDown() {
		c.enc.Raw("* BYE server shutting down\r\n")
		c.flush()
	} else if isTimeout(err) {
		c.enc.Raw("* BYE autologout, idle for too long\r\n")
		c.flush()
	} else if errors.Is(err, errSelectedGone) {
		c.enc.Raw("* BYE selected mailbox was deleted or renamed, have to disconnect\r\n")
		c.flush()
	} else if errors.Is(err, errAccountGone) {
		c.enc.Raw("* BYE account was deleted\r\n")
		c.flush()
	} else if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
		c.log.Debug("imap connection ends", "err", err)
	}
}

// errBlock is returned by a handler that set conn.block to the rest of its
// work, which waits long (IDLE): command() runs that on a new goroutine and
// returns errMoved, and the current goroutine, with its grown stack, exits.
var (
	errBlock = errors.New("imapserver: command blocks")
	errMoved = errors.New("imapserver: connection moved to another goroutine")
)

// resumeBlocked returns what a fresh goroutine runs to go on with a
// command that returned errBlock: c.block, then the end of the command, or
// another move if c.block returned errBlock again.
func (c *conn) resumeBlocked(tag, name string, h handler) func() error {
	block := c.block
	c.block = nil
	return func() error {
		err := c.run(handler{fn: func(*conn, *command) error { return block() }}, &command{tag: tag, name: name})
		if err == errBlock {
			go c.serve(c.resumeBlocked(tag, name, h))
			return errMoved
		}
		return c.finish(tag, name, h, err)
	}
}
