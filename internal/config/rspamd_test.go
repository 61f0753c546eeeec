package config

import (
	"strings"
	"testing"
	"time"
)

func TestRspamdConfig(t *testing.T) {
	t.Parallel()
	d := Default().Rspamd
	if l, err := d.Learner(nil, nil, nil); l != nil || err != nil {
		t.Fatalf("default [rspamd] builds a learner: %v %v", l, err)
	}
	c, err := loadString(t, `
[rspamd]
controller = "http://127.0.0.1:11334"
password = "pw"
learn_queue = 10
learn_attempts = 2
learn_timeout = "5s"
learn_max_message_bytes = 1000
`)
	if err != nil {
		t.Fatal(err)
	}
	r := c.Rspamd
	if r.Controller != "http://127.0.0.1:11334" || r.Password != "pw" || r.LearnQueue != 10 || r.LearnAttempts != 2 ||
		r.LearnTimeout.Duration != 5*time.Second || r.LearnMaxMessageBytes != 1000 {
		t.Fatalf("[rspamd] = %+v", r)
	}
	for text, want := range map[string]string{
		"[rspamd]\ncontroller = \"127.0.0.1:11334\"\n": "rspamd.controller",
		"[rspamd]\ncontroller = \"ftp://x\"\n":         "rspamd.controller",
		"[rspamd]\nlearn_queue = -1\n":                 "rspamd.learn_queue",
		"[rspamd]\nlearn_attempts = 11\n":              "rspamd.learn_attempts",
		"[rspamd]\nlearn_timeout = \"1h\"\n":           "rspamd.learn_timeout",
		"[rspamd]\nlearn_max_message_bytes = -1\n":     "rspamd.learn_max_message_bytes",
	} {
		if _, err := loadString(t, text); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want an error about %s", text, err, want)
		}
	}
}

func TestClientChecksConfig(t *testing.T) {
	t.Parallel()
	if d := Default().ClientChecks.SMTP(); d.ReverseDNS != "" || d.HELO != "" {
		t.Fatalf("default [client_checks] = %+v, want off", d)
	}
	c, err := loadString(t, "[client_checks]\nreverse_dns = \"reject\"\nhelo = \"score\"\n")
	if err != nil {
		t.Fatal(err)
	}
	if s := c.ClientChecks.SMTP(); s.ReverseDNS != "reject" || s.HELO != "score" {
		t.Fatalf("[client_checks] = %+v", s)
	}
	c, err = loadString(t, "[client_checks]\nreverse_dns = \"off\"\n")
	if err != nil || c.ClientChecks.SMTP().ReverseDNS != "" {
		t.Fatalf("off: %v %+v", err, c.ClientChecks)
	}
	if _, err := loadString(t, "[client_checks]\nhelo = \"yes\"\n"); err == nil || !strings.Contains(err.Error(), "client_checks.helo") {
		t.Fatalf("helo = yes: %v", err)
	}
}
