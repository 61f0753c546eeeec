package config

import (
	"strings"
	"testing"
	"time"
)

func TestMilters(t *testing.T) {
	t.Parallel()
	c, err := loadString(t, `
[[milters]]
address = "inet:127.0.0.1:11332"
on_error = "accept"
command_timeout = "2m"
spam_header = "X-Spam"

[[milters]]
address = "unix:/run/opendkim/opendkim.sock"
listeners = ["submission"]
`)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Milters) != 2 || c.Milters[0].CommandTimeout.Duration != 2*time.Minute || c.Milters[0].OnError != "accept" {
		t.Fatalf("milters %+v", c.Milters)
	}
	mx, err := c.MilterChain(MilterSMTP, nil, nil)
	if err != nil || mx.Len() != 1 {
		t.Fatalf("smtp chain %v, %v; want the first milter (listeners default to smtp)", mx.Len(), err)
	}
	sub, err := c.MilterChain(MilterSubmission, nil, nil)
	if err != nil || sub.Len() != 1 {
		t.Fatalf("submission chain %v, %v", sub.Len(), err)
	}
	d := Default()
	none, err := d.MilterChain(MilterSMTP, nil, nil)
	if err != nil || none != nil {
		t.Fatalf("default chain %v, %v; want none", none, err)
	}
}

func TestMiltersInvalid(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ toml, want string }{
		{"[[milters]]\naddress = \"127.0.0.1:11332\"\n", "inet:host:port"},
		{"[[milters]]\naddress = \"inet:127.0.0.1:0\"\n", "bad port"},
		{"[[milters]]\naddress = \"inet:127.0.0.1:1\"\non_error = \"reject\"\n", "on_error"},
		{"[[milters]]\naddress = \"inet:127.0.0.1:1\"\nlisteners = [\"imap\"]\n", "listeners"},
		{"[[milters]]\naddress = \"inet:127.0.0.1:1\"\ncommand_timeout = \"1h\"\n", "command_timeout"},
		{"[[milters]]\naddress = \"inet:127.0.0.1:1\"\nmax_header_bytes = -1\n", "max_header_bytes"},
		{strings.Repeat("[[milters]]\naddress = \"inet:127.0.0.1:1\"\n", MaxMilters+1), "at most"},
	} {
		_, err := loadString(t, tc.toml)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want one naming %q", tc.toml, err, tc.want)
		}
	}
}

func TestDNSBLConfig(t *testing.T) {
	t.Parallel()
	c, err := loadString(t, `
[dnsbl]
zones = ["zen.example.net"]
header_zones = ["score.example.net"]
allow_zones = ["list.dnswl.example"]
timeout = "2s"
`)
	if err != nil {
		t.Fatal(err)
	}
	if !c.DNSBL.Enabled() || c.DNSBL.Timeout.Duration != 2*time.Second {
		t.Fatalf("dnsbl %+v", c.DNSBL)
	}
	if ch, err := c.DNSBL.Checker(nopResolver{}, nil); err != nil || ch == nil {
		t.Fatalf("Checker: %v, %v", ch, err)
	}
	d := Default()
	if d.DNSBL.Enabled() {
		t.Fatal("dnsbl enabled by default")
	}
	for _, bad := range []string{"[dnsbl]\nzones = [\"bad zone\"]\n", "[dnsbl]\ntimeout = \"2m\"\n", "[dnsbl]\ncache_entries = -1\n"} {
		if _, err := loadString(t, bad); err == nil || !strings.Contains(err.Error(), "dnsbl") {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

func TestGreylistConfig(t *testing.T) {
	t.Parallel()
	d := Default()
	if d.Greylist.Enabled || d.Greylist.Delay.Duration != 5*time.Minute || d.Greylist.AutoAllow != 5 {
		t.Fatalf("default greylist %+v", d.Greylist)
	}
	c, err := loadString(t, "[greylist]\nenabled = true\ndelay = \"1m\"\n")
	if err != nil || !c.Greylist.Enabled || c.Greylist.Delay.Duration != time.Minute || c.Greylist.Expire.Duration != 35*24*time.Hour {
		t.Fatalf("greylist %+v, %v", c.Greylist, err)
	}
	for _, bad := range []string{"[greylist]\nauto_allow = 1\n", "[greylist]\nexpire = \"1m\"\n", "[greylist]\ndelay = \"48h\"\n"} {
		if _, err := loadString(t, bad); err == nil || !strings.Contains(err.Error(), "greylist") {
			t.Errorf("%q: %v", bad, err)
		}
	}
}
