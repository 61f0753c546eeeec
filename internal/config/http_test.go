package config

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestHTTPDefaults(t *testing.T) {
	c := Default()
	if c.HTTP != "127.0.0.1:2080" || c.HTTPS != "127.0.0.1:2443" || c.MTASTSMode != "testing" || c.MTASTSMaxAge.Duration != 7*24*time.Hour {
		t.Errorf("defaults %+v", c.HTTPSettings)
	}
	ps, err := c.MetricsPrefixes()
	if err != nil {
		t.Fatal(err)
	}
	want := []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	if len(ps) != 2 || ps[0] != want[0] || ps[1] != want[1] {
		t.Errorf("prefixes %v", ps)
	}
	if err := c.Validate(); err != nil {
		t.Error(err)
	}
}

func TestHTTPKeys(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "c.toml")
	os.WriteFile(path, []byte(`http = ""
https = "[::1]:8443"
metrics_allow = ["10.0.0.0/8", "192.0.2.7"]
metrics_token = "0123456789abcdef"
mta_sts_mode = "enforce"
mta_sts_max_age = "24h"
`), 0o600)
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	ps, _ := c.MetricsPrefixes()
	if c.HTTP != "" || c.HTTPS != "[::1]:8443" || c.MTASTSMode != "enforce" || c.MTASTSMaxAge.Duration != 24*time.Hour ||
		len(ps) != 2 || ps[1] != netip.MustParsePrefix("192.0.2.7/32") {
		t.Errorf("loaded %+v %v", c.HTTPSettings, ps)
	}

	for _, tc := range []struct{ toml, want string }{
		{`mta_sts_mode = "strict"`, "mta_sts_mode"},
		{`mta_sts_max_age = "0s"`, "mta_sts_max_age"},
		{`mta_sts_max_age = "9000h"`, "mta_sts_max_age"},
		{`metrics_allow = ["nonsense"]`, "metrics_allow"},
		{`metrics_token = "short"`, "metrics_token"},
	} {
		os.WriteFile(path, []byte(tc.toml+"\n"), 0o600)
		if _, err := Load(path); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err %v, want mention of %s", tc.toml, err, tc.want)
		}
	}
}
