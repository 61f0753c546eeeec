package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func writeFile(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "mailroom.toml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadOverridesDefaultsAndKeepsOthers(t *testing.T) {
	p := writeFile(t, `
hostname = "mx.example.test"
pop3 = ""
data = "store"
[limits]
max_recipients = 7
pop3_idle_timeout = "15m"
`)
	c, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if c.Hostname != "mx.example.test" {
		t.Errorf("hostname = %q", c.Hostname)
	}
	if c.POP3 != "" {
		t.Errorf("pop3 = %q, want disabled", c.POP3)
	}
	if c.SMTP != "127.0.0.1:2525" || c.IMAP != "127.0.0.1:2143" {
		t.Errorf("defaults lost: smtp=%q imap=%q", c.SMTP, c.IMAP)
	}
	if want := filepath.Join(filepath.Dir(p), "store"); c.DataDir != want {
		t.Errorf("data = %q, want %q (relative to the config file)", c.DataDir, want)
	}
	if c.Limits.MaxRecipients != 7 || c.Limits.POP3IdleTimeout.Duration != 15*time.Minute {
		t.Errorf("limits = %+v", c.Limits)
	}
	if c.Limits.MaxMessageBytes != 50<<20 {
		t.Errorf("max_message_bytes default lost: %d", c.Limits.MaxMessageBytes)
	}
}

func TestLoadRejectsUnknownKeysAndBadValues(t *testing.T) {
	for body, want := range map[string]string{
		`smtpp = "x"`:                           "unknown key",
		"[limits]\npop3_idle_timeout = \"1m\"":  "pop3_idle_timeout",
		"[limits]\nsmtp_max_line_length = 100":  "smtp_max_line_length",
		`log_level = "loud"`:                    "log_level",
		`log_format = "xml"`:                    "log_format",
		"[limits]\nimap_idle_timeout = \"bad\"": "imap_idle_timeout",
	} {
		_, err := Load(writeFile(t, body))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Load(%q) error = %v, want mention of %q", body, err, want)
		}
	}
}

func TestDefaultIsValidAndLoopbackOnly(t *testing.T) {
	c := Default()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, a := range []string{c.SMTP, c.Submission, c.POP3, c.IMAP} {
		if !strings.HasPrefix(a, "127.0.0.1:") {
			t.Errorf("default listener %q is not loopback-only", a)
		}
	}
}
