package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mailroom/mailroom/internal/config"
)

// The SRS key is generated in the data directory on first use and read
// back later: addresses made before a restart still verify. Keys from
// the config replace the file; the first signs and all verify.
func TestSRSKeyFile(t *testing.T) {
	t.Parallel()
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.Hostname = "mx.example.test"
	first, err := newSRS(cfg)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(cfg.DataDir, srsKeyFile))
	if err != nil || len(strings.TrimSpace(string(b))) != 64 {
		t.Fatalf("key file %q, %v", b, err)
	}
	if fi, err := os.Stat(filepath.Join(cfg.DataDir, srsKeyFile)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode: %v, %v", fi, err)
	}
	addr, err := first.Forward("a@b.example")
	if err != nil || !strings.HasSuffix(addr, "@mx.example.test") {
		t.Fatalf("Forward = %q, %v", addr, err)
	}
	again, err := newSRS(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if orig, err := again.Reverse(addr); err != nil || orig != "a@b.example" {
		t.Fatalf("after restart: %q, %v", orig, err)
	}

	// Rotation through the config: the file's key listed second.
	cfg.SRS.Keys = []string{"a brand new key for signing", strings.TrimSpace(string(b))}
	cfg.SRS.Domain = "srs.example.test"
	rotated, err := newSRS(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if orig, err := rotated.Reverse(addr); err != nil || orig != "a@b.example" {
		t.Fatalf("old key after rotation: %q, %v", orig, err)
	}
	if n, _ := rotated.Forward("a@b.example"); !strings.HasSuffix(n, "@srs.example.test") {
		t.Fatalf("srs.domain not used: %q", n)
	}
	cfg.SRS.Enabled = false
	if off, err := newSRS(cfg); off != nil || err != nil {
		t.Fatalf("disabled: %v, %v", off, err)
	}
}

// srsFrom reports whether `queue show` output names an SRS0 sender in
// domain for orig: serve forwards with SRS by default.
func srsFrom(out, orig, domain string) bool {
	local, origDomain, _ := strings.Cut(orig, "@")
	for _, line := range strings.Split(out, "\n") {
		if from, ok := strings.CutPrefix(line, "From:    SRS0="); ok {
			return strings.HasSuffix(from, "="+origDomain+"="+local+"@"+domain)
		}
	}
	return false
}
