package config

import (
	"strings"
	"testing"
)

func TestListenerConnLimits(t *testing.T) {
	c, err := Load(writeFile(t, `
[limits]
max_connections = 300
[limits.listener.imap]
max_connections = 20000
max_connections_per_ip = 50
[limits.listener.smtp]
max_connections_per_ip = 5
`))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name         string
		total, perIP int
	}{
		{"imap", 20000, 50},
		{"smtp", 300, 5},   // total from [limits]
		{"pop3", 300, 20},  // no override: [limits], per-IP default
		{"imaps", 300, 20}, // implicit TLS is its own listener
	} {
		if total, perIP := c.Limits.ConnLimits(tt.name); total != tt.total || perIP != tt.perIP {
			t.Errorf("%s: %d, %d; want %d, %d", tt.name, total, perIP, tt.total, tt.perIP)
		}
	}
	for body, want := range map[string]string{
		"[limits.listener.imapx]\nmax_connections = 1\n":        "unknown listener",
		"[limits.listener.pop3]\nmax_connections_per_ip = -1\n": "must not be negative",
		"[limits.listener.imap]\nmax_conns = 1\n":               "max_conns",
	} {
		if _, err := Load(writeFile(t, body)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Load(%q) error = %v, want mention of %q", body, err, want)
		}
	}
}
