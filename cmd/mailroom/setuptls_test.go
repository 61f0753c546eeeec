package main

import (
	"crypto/tls"
	"log/slog"
	"net"
	"path/filepath"
	"slices"
	"testing"

	"github.com/mailroom/mailroom/internal/config"
	"github.com/mailroom/mailroom/internal/tlsconfig"
)

func TestSetupTLSSources(t *testing.T) {
	t.Parallel()
	log := slog.New(slog.DiscardHandler)
	cfg := config.Default()
	cfg.DataDir, cfg.Hostname = t.TempDir(), "mail.example.test"

	// Nothing configured: self-signed, reloadable.
	c, reload, _, err := setupTLS(cfg, log)
	if err != nil || c.MinVersion != tls.VersionTLS12 || reload == nil {
		t.Fatalf("self-signed: %v %v", c, err)
	}

	// PEM files (here: the self-signed pair just generated).
	cfg2 := cfg
	cfg2.TLSCert = filepath.Join(cfg.TLSDir(), tlsconfig.SelfSignedCert)
	cfg2.TLSKey = filepath.Join(cfg.TLSDir(), tlsconfig.SelfSignedKey)
	c, reload, _, err = setupTLS(cfg2, log)
	if err != nil || reload == nil || reload() != nil {
		t.Fatalf("files: %v", err)
	}
	if cert, err := c.GetCertificate(&tls.ClientHelloInfo{ServerName: "mail.example.test"}); err != nil || cert.Leaf.DNSNames[0] != "mail.example.test" {
		t.Fatalf("files: certificate %v", err)
	}
	cfg2.TLSKey = filepath.Join(t.TempDir(), "missing.key")
	if _, _, _, err := setupTLS(cfg2, log); err == nil {
		t.Error("missing key accepted")
	}

	// ACME: wired, not contacted (no network in tests).
	cfg3 := cfg
	cfg3.ACME, cfg3.ACMEEmail = true, "admin@example.test"
	c, reload, acme, err := setupTLS(cfg3, log)
	if err != nil || reload != nil || acme == nil || !slices.Contains(c.NextProtos, "acme-tls/1") {
		t.Fatalf("acme: %v %v", c, err)
	}

	// Plaintext policy.
	remote := &net.TCPAddr{IP: net.ParseIP("192.0.2.1")}
	if plaintextPolicy(cfg)(remote) {
		t.Error("plaintext allowed from a remote address by default")
	}
	cfg.AllowPlaintextAuth = true
	if !plaintextPolicy(cfg)(remote) {
		t.Error("allow_plaintext_auth ignored")
	}
}
