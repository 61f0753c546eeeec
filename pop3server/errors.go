package pop3server

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/mailroom/mailroom/auth"
	"github.com/mailroom/mailroom/store"
)

// replyError is a protocol error: the session continues and the client gets
// "-ERR [code] text". Command handlers return it; writeError turns it (and
// every other error) into the one reply the client sees.
type replyError struct {
	code string // response code without brackets, "" for none
	text string
}

func (e *replyError) Error() string {
	if e.code == "" {
		return e.text
	}
	return "[" + e.code + "] " + e.text
}

func errorf(code, format string, args ...any) error {
	return &replyError{code: code, text: fmt.Sprintf(format, args...)}
}

// Protocol errors used by more than one command.
var (
	errNoSuchMessage   = &replyError{text: "no such message"}
	errBadArguments    = &replyError{text: "invalid arguments"}
	errUnknownCommand  = &replyError{text: "unknown command"}
	errWrongState      = &replyError{text: "command not valid in this state"}
	errLineTooLong     = &replyError{text: "line too long"}
	errPlaintextDenied = &replyError{code: codeAuth, text: "plaintext authentication is not allowed on this connection"}
	errInUse           = &replyError{code: codeInUse, text: "maildrop already locked by another session"}
	errAuthCancelled   = &replyError{text: "authentication cancelled"}
)

// errConnGone reports that the connection failed in the middle of a
// command; the session ends without a reply.
var errConnGone = errors.New("pop3server: connection lost")

// errMessageGone is returned when a message of the snapshot has disappeared
// from the store (expunged through IMAP) before it could be read.
var errMessageGone = &replyError{code: codeSysTemp, text: "message no longer available"}

// replyFor maps an error to the text after "-ERR " and reports whether the
// error is unexpected (and so worth a log line). Raw error text of unknown
// errors never reaches the client.
func replyFor(err error) (reply string, unexpected bool) {
	var re *replyError
	switch {
	case errors.As(err, &re):
		return re.Error(), false
	case errors.Is(err, auth.ErrInvalidCredentials):
		return "[" + codeAuth + "] invalid username or password", false
	case errors.Is(err, auth.ErrMalformedResponse):
		return "invalid base64 data", false
	case errors.Is(err, auth.ErrThrottled):
		return "[" + codeSysTemp + "] too many failed attempts, try again later", false
	case errors.Is(err, auth.ErrUnknownMechanism):
		return "unsupported authentication mechanism", false
	case errors.Is(err, store.ErrNotFound):
		return "[" + codeSysTemp + "] maildrop not available", true
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded):
		return "[" + codeSysTemp + "] operation interrupted", true
	}
	return "[" + codeSysTemp + "] internal error", true
}
