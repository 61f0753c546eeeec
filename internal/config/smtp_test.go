package config

import (
	"path/filepath"
	"strings"
	"testing"
)

// The SMTP spool and in-flight budget (issue 11 item 4): defaults, the
// TOML keys, relative paths and validation.
func TestSMTPSpoolAndInFlightBudget(t *testing.T) {
	c := Default()
	if c.Limits.SMTPMaxInFlightBytes != 1<<30 {
		t.Errorf("smtp_max_in_flight_bytes default = %d, want 1 GiB", c.Limits.SMTPMaxInFlightBytes)
	}
	if got, want := c.SpoolPath(), filepath.Join("mailroom-data", "spool"); got != want {
		t.Errorf("default spool path %q, want %q", got, want)
	}
	p := writeFile(t, "spool_dir = \"sp\"\n[limits]\nsmtp_max_in_flight_bytes = 104857600\n")
	c, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if c.Limits.SMTPMaxInFlightBytes != 100<<20 {
		t.Errorf("smtp_max_in_flight_bytes = %d", c.Limits.SMTPMaxInFlightBytes)
	}
	if want := filepath.Join(filepath.Dir(p), "sp"); c.SpoolPath() != want {
		t.Errorf("spool path %q, want %q (relative to the config file)", c.SpoolPath(), want)
	}
	_, err = Load(writeFile(t, "[limits]\nmax_message_bytes = 2000\nsmtp_max_in_flight_bytes = 1000\n"))
	if err == nil || !strings.Contains(err.Error(), "smtp_max_in_flight_bytes") {
		t.Errorf("in-flight budget below the message size: error %v", err)
	}
}
