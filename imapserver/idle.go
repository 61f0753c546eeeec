package imapserver

import (
	"strings"
	"time"
)

// cmdIdle: IDLE (RFC 2177, RFC 9051 §6.3.13). Changes are pushed as the
// change feed reports them; a short-lived goroutine reads the "DONE" line
// while the connection goroutine waits on the feed.
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
	c.nc.SetReadDeadline(time.Now().Add(c.srv.cfg.IdleTimeout))
	type result struct {
		line string
		err  error
	}
	done := make(chan result, 1)
	go func() {
		line, err := c.readLine()
		done <- result{line, err}
	}()
	for {
		select {
		case r := <-done:
			if r.err != nil {
				return r.err
			}
			if !strings.EqualFold(strings.TrimSpace(r.line), "DONE") {
				return badf("", "expected DONE")
			}
			return nil
		case _, ok := <-c.changes:
			if !ok {
				c.changes = nil
				continue
			}
			if c.sel == nil {
				continue
			}
			if err := c.syncForce(true, true); err != nil {
				return err
			}
			if err := c.flush(); err != nil {
				return err
			}
		case <-c.srv.shutdown:
			return errShutdown
		}
	}
}
