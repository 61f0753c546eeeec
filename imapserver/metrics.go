package imapserver

import (
	"errors"
	"time"

	"github.com/mailroom/mailroom/imapserver/imapwire"
)

// Metrics is what the server reports to monitoring (*metrics.Metrics in
// cmd/mailroom). Command names come from the command table only, so the
// label set stays bounded.
type Metrics interface {
	IMAPCommand(name, status string, d time.Duration)
	IMAPIdle(delta int)
	TLSHandshakeFailed(protocol string)
}

// nopMetrics is used when Config.Metrics is nil.
type nopMetrics struct{}

func (nopMetrics) IMAPCommand(string, string, time.Duration) {}
func (nopMetrics) IMAPIdle(int)                              {}
func (nopMetrics) TLSHandshakeFailed(string)                 {}

// observeCommand reports a command of the table that ran since start;
// IDLE (moved to another goroutine, errBlock) is reported by the gauge
// instead.
func (c *conn) observeCommand(name string, err error, start time.Time) {
	if err == errBlock {
		return
	}
	c.srv.cfg.Metrics.IMAPCommand(name, metricStatus(err), time.Since(start))
}

// metricStatus is the tagged status an error becomes: "ok", "no" or
// "bad" (as toResponse decides, without its logging).
func metricStatus(err error) string {
	var re *respError
	var se *imapwire.SyntaxError
	var lt *imapwire.LiteralTooBigError
	switch {
	case err == nil:
		return "ok"
	case errors.As(err, &re):
		if re.status == statusBAD {
			return "bad"
		}
		return "no"
	case errors.As(err, &se), errors.As(err, &lt),
		errors.Is(err, imapwire.ErrLineTooLong), errors.Is(err, imapwire.ErrCommandTooBig):
		return "bad"
	}
	return "no"
}
