package smtpserver

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/emersion/go-smtp"

	"github.com/mailroom/mailroom/auth"
	"github.com/mailroom/mailroom/internal/authtest"
)

func TestReplyFor(t *testing.T) {
	var logBuf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logBuf, nil))
	for _, tc := range []struct {
		err  error
		want string
	}{
		{auth.ErrThrottled, "454 4.7.0"},
		{auth.ErrInvalidCredentials, "535 5.7.8"},
		{fmt.Errorf("rcpt: %w", errUnknownUser), "550 5.1.1"},
		{errRelayDenied, "554 5.7.1"},
		{errRelayUnavailable, "550 5.7.1"},
		{smtp.ErrDataTooLarge, "552 5.3.4"},
		{smtp.ErrDataReset, "451 4.4.2"},
		{errors.New("disk on fire at /var/secret"), "451 4.3.0"},
	} {
		r := replyFor(log, tc.err)
		if got := fmt.Sprintf("%d %d.%d.%d", r.Code, r.EnhancedCode[0], r.EnhancedCode[1], r.EnhancedCode[2]); got != tc.want {
			t.Errorf("replyFor(%v) = %s, want %s", tc.err, got, tc.want)
		}
		if strings.Contains(r.Message, "secret") {
			t.Errorf("reply leaks error text: %q", r.Message)
		}
	}
	for _, e := range []error{
		errAuthRequired, errEncryptionRequired, errSenderNotOwned, errUnknownUser,
		errBadAddress, errRelayDenied, errRelayUnavailable, errBareLineEnding,
		errLineTooLong, errMessageTooLarge, errShuttingDown, errNoValidRecipients,
		errAuthMalformed, errAuthInTransaction, errTransactionAborted, errSubmissionNullSendr,
	} {
		if replyFor(log, e) == errInternal {
			t.Errorf("typed error %v has no reply", e)
		}
	}
	if !strings.Contains(logBuf.String(), "disk on fire") {
		t.Errorf("unknown error not logged: %q", logBuf.String())
	}
}

// A store failure during delivery is a temporary 451 without detail, and
// the client may retry.
func TestDeliveryFailure(t *testing.T) {
	hash := authtest.Credentials(testPassword)
	mem := newMemStore(hash, testAccounts...)
	mem.failNext = errors.New("sqlite: database is locked (secret detail)")
	h := startServer(t, mem, ModeMX)
	h.inboxFn = mem.inbox
	c := h.dial()
	c.cmd("EHLO c", "250 ")
	c.cmd("MAIL FROM:<x@remote.example>", "250 ")
	c.cmd("RCPT TO:<bob@example.com>", "250 ")
	c.cmd("DATA", "354 ")
	c.send(simpleMessage + ".\r\n")
	c.expect("451 4.3.0 Internal error")
	c.sendMail("x@remote.example", []string{"bob@example.com"}, simpleMessage)
	if n := len(h.inbox("bob@example.com")); n != 1 {
		t.Fatalf("bob has %d messages, want 1", n)
	}
}

func TestAuthDuringTransaction(t *testing.T) {
	c := newHarness(t, ModeMX).dial()
	c.cmd("EHLO c", "250 ")
	c.cmd("MAIL FROM:<x@remote.example>", "250 ")
	c.cmd("AUTH PLAIN "+b64("\x00alice@example.com\x00"+testPassword), "503 5.5.1 ")
	c.cmd("RSET", "250 ")
	c.login("alice@example.com")
}
