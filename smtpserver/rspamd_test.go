package smtpserver

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/mailroom/mailroom/internal/rspamdtest"
	"github.com/mailroom/mailroom/milter"
)

// GTUBE test patterns Rspamd acts on (libmime): X… rejects, Y… (with
// options.enable_test_patterns) is the "add header" action.
const (
	gtubeReject    = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"
	gtubeAddHeader = "YJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"
)

// rspamdConfig is a self-contained Rspamd configuration: Debian's rules
// and modules, one proxy worker in milter mode scanning by itself on
// 127.0.0.1:port, no DNS (a closed port on loopback, so lookups fail at
// once), a small TLD list (the full one takes Rspamd a minute to
// compile on a busy machine), and the README's recommended milter
// headers.
const rspamdConfig = `
.include "$CONFDIR/common.conf"
options {
    pidfile = "$RUNDIR/rspamd.pid";
    url_tld = "$DBDIR/tld.dat";
    enable_test_patterns = true;
    dns { nameserver = ["127.0.0.1:1"]; timeout = 0.5s; retransmits = 1; }
    filters = "regexp";
    cache_file = "$DBDIR/symbols.cache";
}
logging { type = "file"; filename = "$LOGDIR/rspamd.log"; level = "info"; }
worker "rspamd_proxy" {
    bind_socket = "127.0.0.1:%d";
    milter = yes;
    timeout = 60s;
    count = 1;
    self_scan = yes;
    upstream "local" { default = yes; self_scan = yes; }
    spam_header = "X-Spam";
    reject_message = "Spam message rejected";
}
`

// rspamd is a running Rspamd started by a test.
// startRspamd starts Debian's rspamd with rspamdConfig and the README's
// recommended local settings, and waits until its milter port answers.
// Loading Debian's rules takes seconds, much longer on a busy machine.
func startRspamd(t *testing.T) *rspamdtest.Rspamd {
	return rspamdtest.Start(t, func(port int) string { return fmt.Sprintf(rspamdConfig, port) }, map[string]string{
		// The README's recommendation: X-Spamd-Result on every
		// message, for local and authenticated clients too.
		"local/local.d/milter_headers.conf": "extended_spam_headers = true;\nskip_local = false;\nskip_authenticated = false;\n",
		"local/local.d/actions.conf":        "reject = 15;\nadd_header = 6;\ngreylist = null;\n",
	}, rspamdtest.Listening, 3*time.Minute)
}

// TestRspamdMilter runs Debian's real Rspamd in milter mode in front of
// the MX listener: GTUBE is rejected with Rspamd's reply, a clean
// message is stored with Rspamd's headers, an "add header" score lands
// in Junk, and a stopped Rspamd means 451 4.7.1 (on_error = tempfail).
func TestRspamdMilter(t *testing.T) {
	t.Parallel()
	rs := startRspamd(t)
	h := milterHarness(t, milter.Config{Address: fmt.Sprintf("inet:127.0.0.1:%d", rs.Port), SpamHeader: "X-Spam", CommandTimeout: 60 * time.Second})
	c := h.dial()
	c.c.SetDeadline(time.Now().Add(3 * time.Minute))
	c.cmd("EHLO client.sender.test", "250 ")

	msg := func(subject, body string) string {
		return "From: Sender <s@sender.test>\r\nTo: alice@example.com\r\nSubject: " + subject +
			"\r\nDate: Tue, 04 Mar 2025 05:06:07 +0000\r\nMessage-ID: <" + strings.ReplaceAll(subject, " ", ".") + "@sender.test>\r\n\r\n" + body + "\r\n"
	}

	// GTUBE: rejected with Rspamd's reply (its reason for GTUBE).
	c.do("MAIL FROM:<s@sender.test>", 250, "2.0.0")
	c.do("RCPT TO:<alice@example.com>", 250, "2.0.0")
	c.do("DATA", 354, "")
	c.send(msg("gtube", "This is spam.\r\n"+gtubeReject) + ".\r\n")
	r := parseReply(t, c.reply())
	if r.code != 554 || r.enh != "5.7.1" || r.text[len(r.text)-1] != "Gtube pattern" {
		t.Fatalf("GTUBE reply %d %s %q, want 554 5.7.1 Gtube pattern", r.code, r.enh, r.text)
	}
	if n := len(h.inbox("alice@example.com")); n != 0 {
		t.Fatalf("GTUBE stored (%d)", n)
	}

	// A clean message: accepted, with Rspamd's verdict in the header.
	c.sendMail("s@sender.test", []string{"alice@example.com"}, msg("lunch", "Lunch at noon tomorrow?"))
	inbox := h.inbox("alice@example.com")
	if len(inbox) != 1 {
		t.Fatalf("%d messages in INBOX after a clean one", len(inbox))
	}
	res := headerValue(inbox[0], "X-Spamd-Result")
	if !strings.HasPrefix(res, "default: False [") {
		t.Fatalf("X-Spamd-Result %q; stored header fields %q", res, headerNames(inbox[0]))
	}
	if v := headerValue(inbox[0], "X-Spam"); v != "" {
		t.Fatalf("clean message has X-Spam: %q", v)
	}

	// "add header": accepted into Junk with X-Spam: Yes.
	c.sendMail("s@sender.test", []string{"alice@example.com"}, msg("offer", "Buy now.\r\n"+gtubeAddHeader))
	if n, j := len(h.inbox("alice@example.com")), h.junkCount("alice@example.com"); n != 1 || j != 1 {
		t.Fatalf("after add header: INBOX %d, Junk %d; want 1, 1", n, j)
	}

	// Rspamd stopped: 451 4.7.1 at the next MAIL.
	rs.Stop()
	c2 := h.dial()
	c2.cmd("EHLO client.sender.test", "250 ")
	c2.do("MAIL FROM:<s@sender.test>", 451, "4.7.1")
	// The open connection's milter session is gone too.
	c.do("MAIL FROM:<s@sender.test>", 451, "4.7.1")
}
