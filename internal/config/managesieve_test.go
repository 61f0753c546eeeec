package config

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/mailroom/mailroom/sieve"
)

func TestGlobalSieveScript(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "lists.sieve"), []byte("keep;"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(filepath.Dir(dir), "outside.sieve"), []byte("discard;"), 0o600); err != nil {
		t.Fatal(err)
	}
	f := Filtering{SieveGlobalDir: dir}
	if b, err := f.GlobalSieveScript(t.Context(), "lists"); err != nil || string(b) != "keep;" {
		t.Fatalf("lists: %q, %v", b, err)
	}
	for _, name := range []string{"missing", "../outside", "", ".hidden", "a/b", `a\b`} {
		if _, err := f.GlobalSieveScript(t.Context(), name); !errors.Is(err, sieve.ErrScriptNotFound) {
			t.Errorf("%q: %v, want ErrScriptNotFound", name, err)
		}
	}
	if _, err := (&Filtering{}).GlobalSieveScript(t.Context(), "lists"); !errors.Is(err, sieve.ErrScriptNotFound) {
		t.Errorf("without a directory: %v", err)
	}
}

func TestManageSieveLimitsValidate(t *testing.T) {
	t.Parallel()
	for _, mod := range []func(*Config){
		func(c *Config) { c.Limits.SieveMaxScripts = 65 },
		func(c *Config) { c.Limits.SieveMaxScriptBytes = 2 << 20 },
		func(c *Config) { c.Limits.ManageSieveIdleTimeout.Duration = 0 },
		func(c *Config) { c.Limits.SieveMaxRedirects = 0 },
		func(c *Config) { c.Limits.SieveTimeout.Duration = 0 },
		func(c *Config) { c.SieveSpamMaxScore = -1 },
	} {
		c := Default()
		mod(&c)
		if err := c.Validate(); err == nil {
			t.Errorf("invalid limits accepted: %+v", c.Limits.ManageSieveLimits)
		}
	}
	if c := Default(); c.ManageSieve != "127.0.0.1:4190" {
		t.Errorf("default managesieve %q", c.ManageSieve)
	}
}
