package managesieve

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/mailroom/mailroom/auth"
	"github.com/mailroom/mailroom/store"
)

// Response codes (RFC 5804 §1.3).
const (
	codeAuthTooWeak    = "AUTH-TOO-WEAK"
	codeEncryptNeeded  = "ENCRYPT-NEEDED"
	codeQuota          = "QUOTA"
	codeQuotaMaxScript = "QUOTA/MAXSCRIPTS"
	codeQuotaMaxSize   = "QUOTA/MAXSIZE"
	codeNonexistent    = "NONEXISTENT"
	codeActive         = "ACTIVE"
	codeAlreadyExists  = "ALREADYEXISTS"
	codeTryLater       = "TRYLATER"
	codeTransition     = "TRANSITION-NEEDED"
)

// noError is a protocol error: the client gets NO (code) "text" and the
// session goes on. Command handlers return it; respond turns it (and
// every other error) into the one response the client sees.
type noError struct {
	code string // without parentheses; "" for none
	text string
	bad  bool // counts as a bad command
}

func (e *noError) Error() string { return e.text }

func nof(code, format string, args ...any) error {
	return &noError{code: code, text: fmt.Sprintf(format, args...)}
}

// Errors used by more than one command.
var (
	errSyntax         = &noError{text: "syntax error", bad: true}
	errLineTooLong    = &noError{text: "line too long", bad: true}
	errLiteralTooBig  = &noError{code: codeQuotaMaxSize, text: "string too long"}
	errUnknownCommand = &noError{text: "unknown command", bad: true}
	errWrongState     = &noError{text: "command not valid in this state", bad: true}
	errBadArguments   = &noError{text: "invalid arguments", bad: true}
	errNoSuchScript   = &noError{code: codeNonexistent, text: "there is no script by that name"}
	errPlaintext      = &noError{code: codeEncryptNeeded, text: "authentication requires TLS (use STARTTLS)"}
	errAuthCancelled  = &noError{text: "authentication cancelled"}
	errAuthFailed     = &noError{text: "authentication failed"}
	errSASLProtocol   = &noError{text: "malformed authentication exchange", bad: true}
)

// errConnGone: the connection failed or must close in the middle of a
// command; the session ends without a NO.
var errConnGone = errors.New("managesieve: connection lost")

// replyFor maps err to the response code and text of a NO and reports
// whether the error is unexpected (worth a log line; its text never
// reaches the client).
func replyFor(err error) (code, text string, unexpected bool) {
	var ne *noError
	switch {
	case errors.As(err, &ne):
		return ne.code, ne.text, false
	case errors.Is(err, auth.ErrInvalidCredentials):
		return "", "authentication failed", false
	case errors.Is(err, auth.ErrMalformedResponse):
		return "", "invalid base64 data", false
	case errors.Is(err, auth.ErrThrottled):
		return codeTryLater, "too many failed attempts, try again later", false
	case errors.Is(err, auth.ErrUnknownMechanism):
		return "", "unsupported authentication mechanism", false
	case errors.Is(err, store.ErrNotFound):
		return codeNonexistent, "there is no script by that name", false
	case errors.Is(err, store.ErrInvalid):
		return "", "invalid script name or script", false
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded):
		return codeTryLater, "operation interrupted", true
	}
	return codeTryLater, "internal error", true
}

func isBad(err error) bool {
	var ne *noError
	return errors.As(err, &ne) && ne.bad
}
