package imapserver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"

	"github.com/mailroom/mailroom/auth"
	"github.com/mailroom/mailroom/imapserver/imapmsg"
	"github.com/mailroom/mailroom/imapserver/imapwire"
	"github.com/mailroom/mailroom/store"
)

// Response codes (RFC 9051 §7.1 unless noted).
const (
	codeAlreadyExists        = "ALREADYEXISTS"
	codeAuthenticationFailed = "AUTHENTICATIONFAILED"
	codeBadCharset           = "BADCHARSET"
	codeCannot               = "CANNOT"
	codeClientBug            = "CLIENTBUG"
	codeHasChildren          = "HASCHILDREN"
	codeNonExistent          = "NONEXISTENT"
	codeExpungeIssued        = "EXPUNGEISSUED" // RFC 9051 §7.1
	codePrivacyRequired      = "PRIVACYREQUIRED"
	codeServerBug            = "SERVERBUG"
	codeTooBig               = "TOOBIG" // RFC 4469 §6 / RFC 7889
	codeTryCreate            = "TRYCREATE"
	codeUnavailable          = "UNAVAILABLE"
	codeUnknownCTE           = "UNKNOWN-CTE" // RFC 3516 §4.3
	codeReadOnly             = "READ-ONLY"
	codeReadWrite            = "READ-WRITE"
	codeClosed               = "CLOSED"   // RFC 7162 §3.2.11
	codeModified             = "MODIFIED" // RFC 7162 §3.1.3
	codeHighestModSeq        = "HIGHESTMODSEQ"
	codeLimit                = "LIMIT"
	codeNoPerm               = "NOPERM"               // RFC 5530 §3
	codeOverQuota            = "OVERQUOTA"            // RFC 9208 §4.3, RFC 5530 §3
	codeNotifyOverflow       = "NOTIFICATIONOVERFLOW" // RFC 5465 §5.8
)

// Response statuses.
const (
	statusNO  = "NO"
	statusBAD = "BAD"
)

// respError is a NO or BAD a handler returns on purpose.
type respError struct {
	status string
	code   string
	text   string
}

func (e *respError) Error() string { return e.status + " [" + e.code + "] " + e.text }

func nof(code, format string, args ...any) error {
	return &respError{status: statusNO, code: code, text: fmt.Sprintf(format, args...)}
}

func badf(code, format string, args ...any) error {
	return &respError{status: statusBAD, code: code, text: fmt.Sprintf(format, args...)}
}

// toResponse maps an error to the status, code and text the client sees.
// Unknown errors become NO [SERVERBUG] and are logged; their text never
// reaches the client.
func (c *conn) toResponse(err error) *respError {
	var re *respError
	var se *imapwire.SyntaxError
	var lt *imapwire.LiteralTooBigError
	switch {
	case errors.As(err, &re):
		return re
	case errors.As(err, &se):
		return &respError{statusBAD, "", "syntax error: " + se.Msg}
	case errors.Is(err, imapwire.ErrLineTooLong):
		return &respError{statusBAD, codeTooBig, "line too long"}
	case errors.Is(err, imapwire.ErrCommandTooBig):
		return &respError{statusBAD, codeTooBig, "command too big"}
	case errors.As(err, &lt):
		return &respError{statusNO, codeTooBig, "literal too big"}
	case errors.Is(err, imapmsg.ErrSyntax):
		return &respError{statusBAD, "", "syntax error"}
	case errors.Is(err, imapmsg.ErrUnknownCTE):
		return &respError{statusNO, codeUnknownCTE, "unknown content-transfer-encoding"}
	case errors.Is(err, store.ErrNotFound):
		return &respError{statusNO, codeNonExistent, "no such mailbox"}
	case errors.Is(err, store.ErrExists):
		return &respError{statusNO, codeAlreadyExists, "mailbox already exists"}
	case errors.Is(err, store.ErrHasChildren):
		return &respError{statusNO, codeHasChildren, "mailbox has children"}
	case errors.Is(err, store.ErrNoSpace):
		// A full disk: as Dovecot, [OVERQUOTA] (RFC 5530 §3), which
		// clients show as "delete something", rather than [SERVERBUG].
		c.log.Error("imap command failed: store full", "err", err)
		return &respError{statusNO, codeOverQuota, "not enough disk space"}
	case errors.Is(err, store.ErrInvalid):
		return &respError{statusNO, codeCannot, "operation not permitted"}
	case errors.Is(err, auth.ErrInvalidCredentials):
		return &respError{statusNO, codeAuthenticationFailed, "authentication failed"}
	case errors.Is(err, auth.ErrMalformedResponse):
		return &respError{statusBAD, "", "invalid base64 response"}
	case errors.Is(err, auth.ErrThrottled):
		return &respError{statusNO, codeUnavailable, "too many failed attempts, try later"}
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return &respError{statusNO, codeUnavailable, "temporarily unavailable"}
	case isUnavailable(err):
		// The store cannot be reached (a database connection): the
		// client's own connection errors never get here (clientGone).
		c.log.Error("imap command failed: store unavailable", "err", err)
		return &respError{statusNO, codeUnavailable, "temporarily unavailable, try again later"}
	}
	if !errors.Is(err, errServerBug) {
		c.log.Error("imap command failed", "err", err)
	}
	return &respError{statusNO, codeServerBug, "internal error"}
}

// isUnavailable reports an error of the network or of a connection
// somewhere behind the server (RFC 5530 UNAVAILABLE).
func isUnavailable(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed)
}
