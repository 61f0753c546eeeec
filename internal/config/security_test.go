package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestSecurityKeys(t *testing.T) {
	def := Default()
	if def.SMTPS != "127.0.0.1:2465" || def.POP3S != "127.0.0.1:2995" || def.IMAPS != "127.0.0.1:2993" || def.AllowPlaintextAuth {
		t.Errorf("defaults: %+v", def.Security)
	}
	if def.Limits.MaxConnections <= 0 || def.Limits.MaxConnectionsPerIP <= 0 {
		t.Errorf("connection limits: %+v", def.Limits)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "mailroom.toml")
	os.WriteFile(path, []byte(`
smtps = ""
imaps = "0.0.0.0:993"
tls_cert = "certs/a.pem"
tls_key = "/etc/k.pem"
allow_plaintext_auth = true
[[tls_certificates]]
cert = "b.pem"
key = "b.key"
[limits]
max_connections = 5
max_connections_per_ip = 2
`), 0o600)
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if c.SMTPS != "" || c.IMAPS != "0.0.0.0:993" || c.POP3S != "127.0.0.1:2995" || !c.AllowPlaintextAuth {
		t.Errorf("loaded %+v", c.Security)
	}
	pairs := c.CertPairs()
	if len(pairs) != 2 || pairs[0].Cert != filepath.Join(dir, "certs/a.pem") || pairs[0].Key != "/etc/k.pem" || pairs[1].Key != filepath.Join(dir, "b.key") {
		t.Errorf("cert pairs %+v", pairs)
	}
	if c.Limits.MaxConnections != 5 || c.Limits.MaxConnectionsPerIP != 2 {
		t.Errorf("limits %+v", c.Limits)
	}
	if c.TLSDir() != filepath.Join(c.DataDir, "tls") {
		t.Error(c.TLSDir())
	}
}

func TestSecurityValidate(t *testing.T) {
	for _, tc := range []struct {
		edit func(*Config)
		want string
	}{
		{func(c *Config) { c.TLSCert = "a" }, "tls_key"},
		{func(c *Config) { c.ACME, c.TLSCert, c.TLSKey = true, "a", "b" }, "exclusive"},
		{func(c *Config) { c.ACMEEmail = "a@b" }, "acme = true"},
		{func(c *Config) { c.TLSCertificates = []CertPair{{Cert: "x"}} }, "tls_certificates[0]"},
		{func(c *Config) { c.Limits.MaxConnectionsPerIP = 0 }, "max_connections"},
	} {
		c := Default()
		tc.edit(&c)
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("want error containing %q, got %v", tc.want, err)
		}
	}
	c := Default()
	c.ACME, c.ACMEEmail = true, "admin@example.com"
	if err := c.Validate(); err != nil {
		t.Errorf("acme config: %v", err)
	}
}

// The auth/TLS limits of issue 11 items 3, 7 and 23: defaults, TOML keys
// and validation.
func TestAuthAndTLSLimitKeys(t *testing.T) {
	def := Default()
	l := def.Limits
	if l.TLSHandshakeTimeout.Duration != 30*time.Second || l.LoginFailuresPerIP != 30 || l.LoginFailuresPerAccount != 30 || l.LoginFailureWindow.Duration != 15*time.Minute || def.SCRAMPlus ||
		l.AuthCacheTTL.Duration != 5*time.Minute || l.AuthCacheSize != 10000 {
		t.Errorf("defaults: %+v scram_plus=%v", l, def.SCRAMPlus)
	}
	c, err := Load(writeFile(t, `
scram_plus = true
[limits]
tls_handshake_timeout = "10s"
login_failures_per_ip = 12
login_failures_per_account = 50
login_failure_window = "1h"
auth_cache_ttl = "0s"
auth_cache_size = 5
`))
	if err != nil {
		t.Fatal(err)
	}
	if !c.SCRAMPlus || c.Limits.TLSHandshakeTimeout.Duration != 10*time.Second || c.Limits.LoginFailuresPerIP != 12 ||
		c.Limits.LoginFailuresPerAccount != 50 || c.Limits.LoginFailureWindow.Duration != time.Hour ||
		c.Limits.AuthCacheTTL.Duration != 0 || c.Limits.AuthCacheSize != 5 {
		t.Errorf("loaded %+v scram_plus=%v", c.Limits, c.SCRAMPlus)
	}
	for _, tc := range []struct {
		edit func(*Config)
		want string
	}{
		{func(c *Config) { c.Limits.TLSHandshakeTimeout.Duration = 0 }, "tls_handshake_timeout"},
		{func(c *Config) { c.Limits.TLSHandshakeTimeout.Duration = time.Hour }, "tls_handshake_timeout"},
		{func(c *Config) { c.Limits.LoginFailuresPerIP = 0 }, "login_failures_per_ip"},
		{func(c *Config) { c.Limits.LoginFailuresPerAccount = -1 }, "login_failures_per_account"},
		{func(c *Config) { c.Limits.LoginFailureWindow.Duration = time.Second }, "login_failure_window"},
		{func(c *Config) { c.Limits.AuthCacheTTL.Duration = -time.Second }, "auth_cache_ttl"},
		{func(c *Config) { c.Limits.AuthCacheTTL.Duration = 48 * time.Hour }, "auth_cache_ttl"},
		{func(c *Config) { c.Limits.AuthCacheSize = 0 }, "auth_cache_size"},
		{func(c *Config) { c.Limits.AuthCacheSize = 2000000 }, "auth_cache_size"},
	} {
		c := Default()
		tc.edit(&c)
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("want error about %s, got %v", tc.want, err)
		}
	}
}
