package smtpserver

import (
	"errors"
	"time"

	"github.com/emersion/go-smtp"
)

// Metrics is what the server reports to monitoring (*metrics.Metrics in
// cmd/mailroom).
type Metrics interface {
	// SMTPTransaction: listener is the Mode ("mx", "submission"),
	// outcome "accepted", "deferred" or "rejected", code the reply.
	SMTPTransaction(listener, outcome string, code int)
	// Delivered: one committed local delivery to recipients accounts,
	// d after the end of DATA.
	Delivered(recipients int, size int64, d time.Duration)
	// TLSHandshakeFailed: listener is "smtp", "submission" or "smtps".
	TLSHandshakeFailed(listener string)
	// AuthVerdict: the result of one inbound check of a message from an
	// unauthenticated MX client; method is "spf", "dkim" (once per
	// signature, "none" without one) or "dmarc", result its RFC 8601
	// result value (pass, fail, softfail, none, ...).
	AuthVerdict(method, result string)
}

type nopMetrics struct{}

func (nopMetrics) AuthVerdict(string, string) {}

func (nopMetrics) SMTPTransaction(string, string, int) {}
func (nopMetrics) Delivered(int, int64, time.Duration) {}
func (nopMetrics) TLSHandshakeFailed(string)           {}

// Transaction outcomes by reply class.
const (
	outcomeAccepted = "accepted" // 2xx after DATA
	outcomeDeferred = "deferred" // 4xx
	outcomeRejected = "rejected" // 5xx
)

// observeTransaction reports the end of DATA/BDAT LAST: err is the reply
// Data returned, nil for the 250.
func (s *Server) observeTransaction(err error) {
	code := codeLocalError
	var se *smtp.SMTPError
	if err == nil {
		code = codeOK
	} else if errors.As(err, &se) {
		code = se.Code
	}
	outcome := outcomeRejected
	switch {
	case code < 300:
		outcome = outcomeAccepted
	case code < 500:
		outcome = outcomeDeferred
	}
	s.cfg.Metrics.SMTPTransaction(s.cfg.Mode.String(), outcome, code)
}

// handshakeLabel names the listener of a failed handshake for the
// metrics, as cmd/mailroom names listeners: "smtps", or for STARTTLS
// "smtp" (MX) / "submission".
func handshakeLabel(m Mode, kind string) string {
	switch {
	case kind != "starttls":
		return kind
	case m == ModeMX:
		return "smtp"
	}
	return "submission"
}
