package smtpserver

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// traceLog collects a server's JSON log.
type traceLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *traceLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

// exchanges returns the "smtp trace" records as [c, s] pairs, waiting
// until there are at least n (at most 30 s), and the whole log.
func (l *traceLog) exchanges(t *testing.T, n int) ([][2]string, string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		l.mu.Lock()
		raw := l.buf.String()
		l.mu.Unlock()
		var got [][2]string
		for _, line := range strings.Split(strings.TrimSpace(raw), "\n") {
			if line == "" {
				continue
			}
			var rec struct{ Msg, C, S string }
			if err := json.Unmarshal([]byte(line), &rec); err != nil {
				t.Fatalf("log line %q: %v", line, err)
			}
			if rec.Msg == "smtp trace" {
				got = append(got, [2]string{rec.C, rec.S})
			}
		}
		if len(got) >= n || time.Now().After(deadline) {
			return got, raw
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func traceHarness(t *testing.T, mode Mode) (*harness, *traceLog) {
	t.Helper()
	tl := &traceLog{}
	h := newHarness(t, mode, func(c *Config) {
		c.Logger = slog.New(slog.NewJSONHandler(tl, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	return h, tl
}

// wantExchanges compares traced exchanges with want: the command exactly,
// the reply by its first line's prefix.
func wantExchanges(t *testing.T, got [][2]string, want [][2]string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("traced %d exchanges, want %d:\n%q", len(got), len(want), got)
	}
	for i := range want {
		if got[i][0] != want[i][0] || !strings.HasPrefix(got[i][1], want[i][1]) {
			t.Errorf("exchange %d = %q, want command %q and a reply starting %q", i, got[i], want[i][0], want[i][1])
		}
	}
}

// TestSMTPTrace: at debug level every exchange is logged once its reply
// is complete, with the command and the reply; a message is
// "[message data, N bytes]", and AUTH PLAIN's initial response is hidden.
func TestSMTPTrace(t *testing.T) {
	t.Parallel()
	h, tl := traceHarness(t, ModeSubmission)
	c := h.dial()
	ir := base64.StdEncoding.EncodeToString([]byte("\x00alice@example.com\x00" + testPassword))
	c.cmd("EHLO client.example", "250 ")
	c.cmd("AUTH PLAIN "+ir, "235 ")
	c.cmd("MAIL FROM:<alice@example.com>", "250 ")
	c.cmd("RCPT TO:<bob@example.com>", "250 ")
	c.cmd("DATA", "354 ")
	c.cmd("From: <alice@example.com>\r\nSubject: t\r\n\r\nsecret body text\r\n.", "250 ")
	c.cmd("QUIT", "221 ")
	got, raw := tl.exchanges(t, 8)
	wantExchanges(t, got, [][2]string{
		{"", "220 "},
		{"EHLO client.example", "250-"},
		{"AUTH PLAIN ***", "235 2.7.0 "},
		{"MAIL FROM:<alice@example.com>", "250 "},
		{"RCPT TO:<bob@example.com>", "250 "},
		{"DATA", "354 "},
		{"[message data, 59 bytes]", "250 "},
		{"QUIT", "221 "},
	})
	if ehlo := got[1][1]; !slices.Contains(strings.Split(ehlo, "\n"), "250-AUTH PLAIN LOGIN SCRAM-SHA-256") &&
		!strings.Contains(ehlo, "\n250-AUTH ") {
		t.Errorf("EHLO reply traced as %q, want all its lines", ehlo)
	}
	for _, secret := range []string{testPassword, ir, "secret body text"} {
		if strings.Contains(raw, secret) {
			t.Errorf("the log contains %q:\n%s", secret, raw)
		}
	}
}

// TestSMTPTraceHidesAuthLogin: AUTH LOGIN's user name and password lines
// are hidden, also when the client pipelines them with EHLO and AUTH
// before any reply, and tracing goes on normally after the exchange.
func TestSMTPTraceHidesAuthLogin(t *testing.T) {
	t.Parallel()
	h, tl := traceHarness(t, ModeSubmission)
	c := h.dial()
	user := base64.StdEncoding.EncodeToString([]byte("alice@example.com"))
	pass := base64.StdEncoding.EncodeToString([]byte(testPassword))
	c.send("EHLO c\r\nAUTH LOGIN\r\n" + user + "\r\n" + pass + "\r\n")
	c.expect("250 ")
	c.expect("334 ")
	c.expect("334 ")
	c.expect("235 ")
	c.cmd("RSET", "250 ")
	c.cmd("NOOP", "250 ")
	got, raw := tl.exchanges(t, 7)
	wantExchanges(t, got, [][2]string{
		{"", "220 "},
		{"EHLO c", "250-"},
		{"AUTH LOGIN", "334 "},
		{"***", "334 "},
		{"***", "235 "},
		{"RSET", "250 "},
		{"NOOP", "250 "},
	})
	for _, secret := range []string{testPassword, pass, user} {
		if strings.Contains(raw, secret) {
			t.Errorf("the log contains %q:\n%s", secret, raw)
		}
	}
}

// TestSMTPTraceOffAboveDebug: at info level nothing is traced.
func TestSMTPTraceOffAboveDebug(t *testing.T) {
	t.Parallel()
	tl := &traceLog{}
	h := newHarness(t, ModeMX, func(c *Config) {
		c.Logger = slog.New(slog.NewJSONHandler(tl, &slog.HandlerOptions{Level: slog.LevelInfo}))
	})
	c := h.dial()
	c.cmd("EHLO c", "250 ")
	c.cmd("QUIT", "221 ")
	h.dial().cmd("NOOP", "250 ")
	if got, _ := tl.exchanges(t, 0); len(got) != 0 {
		t.Errorf("traced at info level: %q", got)
	}
}
