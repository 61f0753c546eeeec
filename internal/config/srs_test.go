package config

import (
	"strings"
	"testing"
	"time"
)

func TestSRSDefaultsAndFile(t *testing.T) {
	t.Parallel()
	if d := Default().SRS; !d.Enabled || d.MaxAge.Duration != 21*24*time.Hour || d.Domain != "" || len(d.Keys) != 0 {
		t.Fatalf("default [srs] = %+v", d)
	}
	c, err := loadString(t, `
[srs]
domain = "srs.example.org"
keys = ["0123456789abcdef-new", "0123456789abcdef-old"]
max_age = "240h"
`)
	if err != nil {
		t.Fatal(err)
	}
	if !c.SRS.Enabled || c.SRS.Domain != "srs.example.org" || len(c.SRS.Keys) != 2 || c.SRS.MaxAge.Duration != 240*time.Hour {
		t.Fatalf("[srs] = %+v", c.SRS)
	}
	for text, want := range map[string]string{
		"[srs]\nmax_age = \"1h\"\n":         "srs.max_age",
		"[srs]\nmax_age = \"30000h\"\n":     "srs.max_age",
		"[srs]\nkeys = [\"short\"]\n":       "srs.keys",
		"[srs]\ndomain = \"a@b.example\"\n": "srs.domain",
	} {
		if _, err := loadString(t, text); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want an error about %s", text, err, want)
		}
	}
}

func TestOutboundLimitsConfig(t *testing.T) {
	t.Parallel()
	d := Default().OutboundLimits
	if d.MessagesPerHour <= 0 || d.MessagesPerDay <= 0 || d.RecipientsPerMessage <= 0 || d.RecipientsPerDay <= 0 || d.ExternalRecipientsPerDay <= 0 || d.Hard {
		t.Fatalf("default [outbound_limits] = %+v", d)
	}
	c, err := loadString(t, "[outbound_limits]\nmessages_per_hour = 10\nmessages_per_day = 0\nhard = true\n")
	if err != nil {
		t.Fatal(err)
	}
	if o := c.OutboundLimits; o.MessagesPerHour != 10 || o.MessagesPerDay != 0 || !o.Hard || o.RecipientsPerDay != d.RecipientsPerDay {
		t.Fatalf("[outbound_limits] = %+v", o)
	}
	for _, text := range []string{"[outbound_limits]\nmessages_per_day = -1\n", "[outbound_limits]\nexternal_recipients_per_day = 100000\n"} {
		if _, err := loadString(t, text); err == nil || !strings.Contains(err.Error(), "outbound_limits") {
			t.Errorf("%q: %v", text, err)
		}
	}
}
