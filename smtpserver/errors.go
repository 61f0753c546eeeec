package smtpserver

import (
	"context"
	"errors"
	"io"
	"log/slog"

	"github.com/emersion/go-smtp"

	"github.com/mailroom/mailroom/auth"
	"github.com/mailroom/mailroom/delivery"
	"github.com/mailroom/mailroom/dnsbl"
	"github.com/mailroom/mailroom/milter"
	"github.com/mailroom/mailroom/store"
)

// Reply codes this package sends itself (go-smtp sends the others). Each
// carries the RFC section that defines it.
const (
	codeOK                   = 250 // RFC 5321 §4.2.2: requested action okay, completed
	codeServiceUnavailable   = 421 // RFC 5321 §3.8: service not available, closing channel
	codeMailboxBusy          = 450 // RFC 5321 §4.2.2: action not taken (Postfix's temporary client refusals)
	codeLocalError           = 451 // RFC 5321 §4.2.2: aborted, local error in processing
	codeInsufficientStorage  = 452 // RFC 5321 §4.2.2: insufficient system storage (mailbox full, in-flight budget)
	codeTempAuthFailure      = 454 // RFC 4954 §6: temporary authentication failure
	codeAuthRequired         = 530 // RFC 4954 §6: authentication required
	codeAuthInvalid          = 535 // RFC 4954 §6: authentication credentials invalid
	codeEncryptionRequired   = 538 // RFC 4954 §6: encryption required for requested mechanism
	codeMailboxUnavailable   = 550 // RFC 5321 §4.2.2: mailbox unavailable / policy refusal
	codeExceededStorage      = 552 // RFC 5321 §4.2.2: exceeded storage allocation
	codeMailboxNameInvalid   = 553 // RFC 5321 §4.2.2: mailbox name not allowed
	codeTransactionFailed    = 554 // RFC 5321 §4.2.2: transaction failed
	codeSyntaxErrorParameter = 501 // RFC 5321 §4.2.2: syntax error in parameters
	codeBadSequence          = 503 // RFC 5321 §4.2.2: bad sequence of commands
	codeParamNotImplemented  = 504 // RFC 5321 §4.2.2: command parameter not implemented (Postfix: non-FQDN HELO)
)

// Enhanced status codes (RFC 3463, registry in RFC 5248).
var (
	enhSystemShutdown     = smtp.EnhancedCode{4, 3, 2}  // RFC 3463 §3.5 X.3.2 system not accepting messages
	enhSystemError        = smtp.EnhancedCode{4, 3, 0}  // RFC 3463 §3.5 X.3.0 other mail system status
	enhTempAuth           = smtp.EnhancedCode{4, 7, 0}  // RFC 4954 §6 4.7.0
	enhAuthRequired       = smtp.EnhancedCode{5, 7, 0}  // RFC 4954 §6 5.7.0
	enhAuthInvalid        = smtp.EnhancedCode{5, 7, 8}  // RFC 4954 §6 5.7.8
	enhEncryptionRequired = smtp.EnhancedCode{5, 7, 11} // RFC 4954 §6 5.7.11
	enhMailboxFull        = smtp.EnhancedCode{4, 2, 2}  // RFC 3463 §3.3 X.2.2 mailbox full
	enhSystemFull         = smtp.EnhancedCode{4, 3, 1}  // RFC 3463 §3.4 X.3.1 mail system full
	enhBadSenderSyntax    = smtp.EnhancedCode{5, 1, 7}  // RFC 3463 §3.2 X.1.7 bad sender's mailbox address syntax
	enhBadMailbox         = smtp.EnhancedCode{5, 1, 1}  // RFC 3463 §3.2 X.1.1 bad destination mailbox address
	enhBadMailboxSyntax   = smtp.EnhancedCode{5, 1, 3}  // RFC 3463 §3.2 X.1.3 bad destination mailbox address syntax
	enhNotAuthorized      = smtp.EnhancedCode{5, 7, 1}  // RFC 3463 §3.8 X.7.1 delivery not authorized
	enhTooBig             = smtp.EnhancedCode{5, 3, 4}  // RFC 3463 §3.5 X.3.4 message too big for system
	enhMediaError         = smtp.EnhancedCode{5, 6, 0}  // RFC 3463 §3.7 X.6.0 other or undefined media error
	enhSyntax             = smtp.EnhancedCode{5, 5, 2}  // RFC 3463 §3.6 X.5.2 syntax error
	enhAborted            = smtp.EnhancedCode{4, 4, 2}  // RFC 3463 §3.5 X.4.2 bad connection
	enhInvalidCommand     = smtp.EnhancedCode{5, 5, 1}  // RFC 3463 §3.6 X.5.1 invalid command
	enhRoutingLoop        = smtp.EnhancedCode{5, 4, 6}  // RFC 3463 §3.5 X.4.6 routing loop detected
	enhTooManyRecipients  = smtp.EnhancedCode{4, 5, 3}  // RFC 3463 §3.6 X.5.3 too many recipients
	enhTempNotAuthorized  = smtp.EnhancedCode{4, 7, 1}  // RFC 3463 §3.8 X.7.1, temporary (a milter's tempfail, an outbound limit)
	enhRDNSFailed         = smtp.EnhancedCode{5, 7, 25} // RFC 7372 §3.3 X.7.25 reverse DNS validation failed
	enhRDNSTemp           = smtp.EnhancedCode{4, 7, 25} // the same, temporary
)

// Typed protocol errors. Session methods return these (or errors wrapping
// them); replyFor turns them into replies.
var (
	errAuthRequired        = errors.New("smtpserver: authentication required")
	errEncryptionRequired  = errors.New("smtpserver: plaintext authentication refused")
	errSenderNotOwned      = errors.New("smtpserver: sender address not owned by the authenticated account")
	errBareLineEnding      = errors.New("smtpserver: bare CR or LF in message")
	errLineTooLong         = errors.New("smtpserver: message line too long")
	errMessageTooLarge     = errors.New("smtpserver: message too large")
	errShuttingDown        = errors.New("smtpserver: shutting down")
	errNoValidRecipients   = errors.New("smtpserver: no valid recipients")
	errAuthMalformed       = errors.New("smtpserver: malformed SASL exchange")
	errAuthInTransaction   = errors.New("smtpserver: AUTH during a mail transaction")
	errTransactionAborted  = errors.New("smtpserver: message transfer aborted")
	errSubmissionNullSendr = errors.New("smtpserver: null sender on submission")
	errDMARCReject         = errors.New("smtpserver: DMARC policy reject")
	errBadSenderAddress    = errors.New("smtpserver: control character in the reverse-path")
	errBadRcptAddress      = errors.New("smtpserver: control character in the forward-path")
	errInFlightBudget      = errors.New("smtpserver: server-wide in-flight message budget exhausted")
	errEmptyMessage        = errors.New("smtpserver: empty message")
	errAuthorNotOwned      = errors.New("smtpserver: From or Sender header not owned by the authenticated account")
	errTooManyRecipients   = errors.New("smtpserver: too many recipients")
	errFilterReject        = errors.New("smtpserver: refused by a milter")
	errFilterTempFail      = errors.New("smtpserver: milter failed or deferred")
	errGreylisted          = errors.New("smtpserver: greylisted")
)

// The recipient errors are package delivery's; these names keep the
// smtpserver spelling for the mapping table and its tests.
var (
	errUnknownUser      = delivery.ErrNoSuchUser
	errBadAddress       = delivery.ErrBadAddress
	errRelayDenied      = delivery.ErrRelayDenied
	errRelayUnavailable = delivery.ErrRelayUnavailable
	errAliasLoop        = delivery.ErrLoop
	errMailboxFull      = delivery.ErrMailboxFull
	errOutboundLimit    = delivery.ErrOutboundLimit
	errOutboundHard     = delivery.ErrOutboundLimitHard
)

// replies maps each typed error to its reply. The texts are fixed: no error
// text from lower layers ever reaches the client.
var replies = map[error]*smtp.SMTPError{
	errAuthRequired:            {Code: codeAuthRequired, EnhancedCode: enhAuthRequired, Message: "Authentication required"},
	errEncryptionRequired:      {Code: codeEncryptionRequired, EnhancedCode: enhEncryptionRequired, Message: "Encryption required for requested authentication mechanism"},
	auth.ErrInvalidCredentials: {Code: codeAuthInvalid, EnhancedCode: enhAuthInvalid, Message: "Authentication credentials invalid"},
	auth.ErrThrottled:          {Code: codeTempAuthFailure, EnhancedCode: enhTempAuth, Message: "Too many failed attempts, try again later"},
	errAuthMalformed:           {Code: codeSyntaxErrorParameter, EnhancedCode: enhSyntax, Message: "Malformed authentication exchange"},
	errAuthInTransaction:       {Code: codeBadSequence, EnhancedCode: enhInvalidCommand, Message: "AUTH not permitted during a mail transaction"},
	errSenderNotOwned:          {Code: codeMailboxNameInvalid, EnhancedCode: enhNotAuthorized, Message: "Sender address is not yours"},
	errSubmissionNullSendr:     {Code: codeMailboxNameInvalid, EnhancedCode: enhNotAuthorized, Message: "Null sender not allowed for submission"},
	errAliasLoop:               {Code: codeMailboxUnavailable, EnhancedCode: enhRoutingLoop, Message: "Alias loop detected"},
	errUnknownUser:             {Code: codeMailboxUnavailable, EnhancedCode: enhBadMailbox, Message: "No such user here"},
	errMailboxFull:             {Code: codeInsufficientStorage, EnhancedCode: enhMailboxFull, Message: "Mailbox full"},
	errOutboundLimit:           {Code: codeLocalError, EnhancedCode: enhTempNotAuthorized, Message: "Sending limit reached, try again later"},
	errOutboundHard:            {Code: codeMailboxUnavailable, EnhancedCode: enhNotAuthorized, Message: "Sending limit reached"},
	errBadAddress:              {Code: codeMailboxNameInvalid, EnhancedCode: enhBadMailboxSyntax, Message: "Bad recipient address syntax"},
	errRelayDenied:             {Code: codeTransactionFailed, EnhancedCode: enhNotAuthorized, Message: "Relay access denied"},
	errRelayUnavailable:        {Code: codeMailboxUnavailable, EnhancedCode: enhNotAuthorized, Message: "Relaying to other domains is not available yet"},
	errBareLineEnding:          {Code: codeTransactionFailed, EnhancedCode: enhMediaError, Message: "Message contains bare CR or LF; lines must end with CRLF"},
	errLineTooLong:             {Code: codeTransactionFailed, EnhancedCode: enhMediaError, Message: "Message line too long"},
	smtp.ErrTooLongLine:        {Code: codeTransactionFailed, EnhancedCode: enhMediaError, Message: "Message line too long"},
	errMessageTooLarge:         {Code: codeExceededStorage, EnhancedCode: enhTooBig, Message: "Maximum message size exceeded"},
	errShuttingDown:            {Code: codeServiceUnavailable, EnhancedCode: enhSystemShutdown, Message: "Server shutting down, try again later"},
	errNoValidRecipients:       {Code: codeTransactionFailed, EnhancedCode: enhBadMailbox, Message: "No valid recipients"},
	delivery.ErrNoRecipients:   {Code: codeTransactionFailed, EnhancedCode: enhBadMailbox, Message: "No valid recipients"},
	errDMARCReject:             {Code: codeMailboxUnavailable, EnhancedCode: enhNotAuthorized, Message: "Message rejected by the DMARC policy of the sender's domain"},
	errTransactionAborted:      {Code: codeLocalError, EnhancedCode: enhAborted, Message: "Message transfer aborted"},
	errBadSenderAddress:        {Code: codeSyntaxErrorParameter, EnhancedCode: enhBadSenderSyntax, Message: "Control characters are not allowed in the sender address"},
	errBadRcptAddress:          {Code: codeSyntaxErrorParameter, EnhancedCode: enhBadMailboxSyntax, Message: "Control characters are not allowed in the recipient address"},
	store.ErrNoSpace:           {Code: codeInsufficientStorage, EnhancedCode: enhSystemFull, Message: "Insufficient system storage, try again later"},
	errInFlightBudget:          {Code: codeInsufficientStorage, EnhancedCode: enhSystemFull, Message: "Insufficient system storage, try again later"},
	errEmptyMessage:            {Code: codeTransactionFailed, EnhancedCode: enhMediaError, Message: "Empty message"},
	errTooManyRecipients:       {Code: codeInsufficientStorage, EnhancedCode: enhTooManyRecipients, Message: "Too many recipients"},
	errAuthorNotOwned:          {Code: codeMailboxUnavailable, EnhancedCode: enhNotAuthorized, Message: "From or Sender header address is not yours"},
	// Postfix's replies for a milter's SMFIR_REJECT / SMFIR_TEMPFAIL
	// and for a failed milter with milter_default_action = tempfail.
	errFilterReject:   {Code: codeMailboxUnavailable, EnhancedCode: enhNotAuthorized, Message: "Command rejected"},
	errFilterTempFail: {Code: codeLocalError, EnhancedCode: enhTempNotAuthorized, Message: "Service unavailable - try again later"},
	errGreylisted:     {Code: codeLocalError, EnhancedCode: enhTempNotAuthorized, Message: "Greylisted, try again later"},
	// Postfix's texts for reject_unknown_client_hostname and
	// reject_invalid_helo_hostname / reject_non_fqdn_helo_hostname.
	errRDNSUnknown: {Code: codeMailboxUnavailable, EnhancedCode: enhRDNSFailed, Message: "Client host rejected: cannot find your hostname"},
	errRDNSTemp:    {Code: codeMailboxBusy, EnhancedCode: enhRDNSTemp, Message: "Client host rejected: cannot find your hostname, try again later"},
	errHELOInvalid: {Code: codeSyntaxErrorParameter, EnhancedCode: enhSyntax, Message: "Helo command rejected: Invalid name"},
	errHELONonFQDN: {Code: codeParamNotImplemented, EnhancedCode: enhSyntax, Message: "Helo command rejected: need fully-qualified hostname"},
}

// errInternal is the reply for every error replyFor does not know.
var errInternal = &smtp.SMTPError{Code: codeLocalError, EnhancedCode: enhSystemError, Message: "Internal error"}

// replyFor maps err to the reply the client sees. Typed errors get their
// fixed reply; replies go-smtp itself defines (*smtp.SMTPError) pass
// through; anything else is logged and becomes 451 4.3.0 Internal error.
func replyFor(log *slog.Logger, err error) *smtp.SMTPError {
	if err == nil {
		return nil
	}
	for e, r := range replies {
		if errors.Is(err, e) {
			return r
		}
	}
	var se *smtp.SMTPError
	if errors.As(err, &se) {
		return se
	}
	var mr *milter.Reply
	if errors.As(err, &mr) {
		return milterReply(mr)
	}
	var bl *dnsbl.Listing
	if errors.As(err, &bl) {
		// Postfix's reject_rbl_client reply: the zone and its TXT
		// (made printable and bounded by package dnsbl).
		return &smtp.SMTPError{Code: codeTransactionFailed, EnhancedCode: enhNotAuthorized, Message: bl.Error()}
	}
	if errors.Is(err, smtp.ErrDataReset) || errors.Is(err, io.ErrUnexpectedEOF) {
		return replies[errTransactionAborted]
	}
	if errors.Is(err, context.Canceled) {
		return replies[errShuttingDown]
	}
	log.Error("smtp: internal error", "err", err)
	return errInternal
}

// milterReply is the reply a milter chose (SMFIR_REPLYCODE; package
// milter checked its code and made its text printable), with Postfix's
// enhanced code and text where the milter gave none.
func milterReply(r *milter.Reply) *smtp.SMTPError {
	def := replies[errFilterReject]
	if r.Code/100 == 4 {
		def = replies[errFilterTempFail]
	}
	out := &smtp.SMTPError{Code: r.Code, EnhancedCode: def.EnhancedCode, Message: r.Text}
	if r.Enhanced != ([3]int{}) {
		out.EnhancedCode = smtp.EnhancedCode(r.Enhanced)
	}
	if out.Message == "" {
		out.Message = def.Message
	}
	return out
}
