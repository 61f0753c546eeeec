package smtpserver

import (
	"encoding/base64"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

type recMetrics struct {
	mu          sync.Mutex
	tx          []string
	delivered   int
	bytes       int64
	handshakes  []string
	verdicts    []string
	lastLatency time.Duration
}

func (r *recMetrics) AuthVerdict(method, result string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.verdicts = append(r.verdicts, method+"="+result)
}

func (r *recMetrics) SMTPTransaction(listener, outcome string, code int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.tx = append(r.tx, listener+" "+outcome+" "+strconv.Itoa(code))
}

func (r *recMetrics) Delivered(n int, size int64, d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.delivered += n
	r.bytes += size
	r.lastLatency = d
}

func (r *recMetrics) TLSHandshakeFailed(l string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.handshakes = append(r.handshakes, l)
}

// Every end of DATA/BDAT LAST is reported with its reply; a delivery to
// two accounts counts two messages and the stored size once.
func TestMetricsTransactions(t *testing.T) {
	m := &recMetrics{}
	h := newHarness(t, ModeMX, func(c *Config) { c.Metrics = m })
	c := h.dial()
	c.do("EHLO c", 250, "")
	c.do("MAIL FROM:<s@other.test>", 250, "2.0.0")
	c.do("RCPT TO:<alice@example.com>", 250, "2.0.0")
	c.do("RCPT TO:<bob@example.com>", 250, "2.0.0")
	c.do("DATA", 354, "")
	c.send(simpleMessage + ".\r\n")
	c.want(250, "2.0.0")
	c.do("MAIL FROM:<s@other.test>", 250, "2.0.0")
	c.do("RCPT TO:<alice@example.com>", 250, "2.0.0")
	c.do("BDAT 0 LAST", 554, "5.6.0")

	m.mu.Lock()
	defer m.mu.Unlock()
	if got := strings.Join(m.tx, ", "); got != "mx accepted 250, mx rejected 554" {
		t.Errorf("transactions: %s", got)
	}
	stored := h.inbox("alice@example.com")
	if m.delivered != 2 || len(stored) != 1 || m.bytes != int64(len(stored[0])) || m.lastLatency <= 0 {
		t.Errorf("delivered %d, %d bytes (stored %d), latency %v", m.delivered, m.bytes, len(stored[0]), m.lastLatency)
	}
}

func TestHandshakeLabel(t *testing.T) {
	for _, tc := range []struct {
		m          Mode
		kind, want string
	}{
		{ModeMX, "starttls", "smtp"},
		{ModeSubmission, "starttls", "submission"},
		{ModeSubmission, "smtps", "smtps"},
	} {
		if got := handshakeLabel(tc.m, tc.kind); got != tc.want {
			t.Errorf("%v %s: %s, want %s", tc.m, tc.kind, got, tc.want)
		}
	}
}

// loginLog records what an auth.LoginObserver hears.
type loginLog struct {
	mu    sync.Mutex
	lines []string
}

func (l *loginLog) Login(protocol, mech, outcome string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, protocol+" "+mech+" "+outcome)
}

// The login metrics name the SASL mechanism the client used: PLAIN and
// LOGIN apart (both used to count as PLAIN).
func TestLoginMechanismReported(t *testing.T) {
	t.Parallel()
	obs := &loginLog{}
	h := newHarness(t, ModeSubmission, func(c *Config) {
		c.Auth = c.Auth.WithObserver(obs).ForProtocol("submission")
	})
	plain := base64.StdEncoding.EncodeToString([]byte("\x00alice@example.com\x00" + testPassword))
	c := h.dial()
	c.cmd("EHLO c", "250 ")
	c.cmd("AUTH PLAIN "+plain, "235 ")
	c = h.dial()
	c.cmd("EHLO c", "250 ")
	c.cmd("AUTH LOGIN", "334 ")
	c.cmd(base64.StdEncoding.EncodeToString([]byte("alice@example.com")), "334 ")
	c.cmd(base64.StdEncoding.EncodeToString([]byte("wrong")), "535 ")
	obs.mu.Lock()
	defer obs.mu.Unlock()
	if want := []string{"submission PLAIN succeeded", "submission LOGIN failed"}; !slices.Equal(obs.lines, want) {
		t.Errorf("logins %q, want %q", obs.lines, want)
	}
}
