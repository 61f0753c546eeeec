package config

import (
	"errors"
	"fmt"
	"path/filepath"
)

// Security is the TLS and authentication policy (embedded in Config, so its
// keys are top-level in the TOML file).
type Security struct {
	// Implicit-TLS listeners (RFC 8314); "" disables one.
	SMTPS string `toml:"smtps"` // submission over TLS (port 465)
	POP3S string `toml:"pop3s"` // port 995
	IMAPS string `toml:"imaps"` // port 993

	// TLSCert and TLSKey name a PEM certificate chain and its key. With
	// neither (and no ACME), a self-signed certificate is generated in
	// <data>/tls. Reloaded on SIGHUP.
	TLSCert string `toml:"tls_cert"`
	TLSKey  string `toml:"tls_key"`
	// TLSCertificates are further certificates, chosen by SNI.
	TLSCertificates []CertPair `toml:"tls_certificates"`

	// ACME obtains certificates for Hostname (and ACMEHosts) from an ACME
	// CA (Let's Encrypt) with TLS-ALPN-01; the cache is <data>/tls/acme.
	ACME          bool     `toml:"acme"`
	ACMEEmail     string   `toml:"acme_email"`
	ACMEHosts     []string `toml:"acme_hosts"`
	ACMEDirectory string   `toml:"acme_directory"` // default: Let's Encrypt production

	// AllowPlaintextAuth permits passwords on connections that are neither
	// TLS nor loopback. Off by default; never needed in production.
	AllowPlaintextAuth bool `toml:"allow_plaintext_auth"`

	// SCRAMPlus offers SCRAM-SHA-256-PLUS (tls-exporter channel binding,
	// RFC 9266) on TLS 1.3 connections. Off by default: libgsasl 2.2
	// (Debian 12's neomutt) picks -PLUS whenever it is offered, cannot
	// bind to tls-exporter and does not fall back, so such clients could
	// not log in at all. SCRAM-SHA-256 is offered either way.
	SCRAMPlus bool `toml:"scram_plus"`
}

// CertPair is one [[tls_certificates]] entry.
type CertPair struct {
	Cert string `toml:"cert"`
	Key  string `toml:"key"`
}

// DefaultSecurity returns the zero-configuration TLS listeners on
// loopback with the self-signed certificate.
func DefaultSecurity() Security {
	return Security{
		SMTPS: "127.0.0.1:2465",
		POP3S: "127.0.0.1:2995",
		IMAPS: "127.0.0.1:2993",
	}
}

// CertPairs returns every configured certificate, tls_cert first.
func (s *Security) CertPairs() []CertPair {
	var out []CertPair
	if s.TLSCert != "" {
		out = append(out, CertPair{Cert: s.TLSCert, Key: s.TLSKey})
	}
	return append(out, s.TLSCertificates...)
}

// TLSDir is where the self-signed certificate and the ACME cache live.
func (c *Config) TLSDir() string { return filepath.Join(c.DataDir, "tls") }

// resolveSecurityPaths makes relative certificate paths from a config
// file relative to the file's directory.
func (s *Security) resolvePaths(dir string) {
	abs := func(p *string) {
		if *p != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(dir, *p)
		}
	}
	abs(&s.TLSCert)
	abs(&s.TLSKey)
	for i := range s.TLSCertificates {
		abs(&s.TLSCertificates[i].Cert)
		abs(&s.TLSCertificates[i].Key)
	}
}

func (s *Security) validate() []error {
	var errs []error
	if (s.TLSCert == "") != (s.TLSKey == "") {
		errs = append(errs, errors.New("tls_cert and tls_key must be given together"))
	}
	for i, p := range s.TLSCertificates {
		if p.Cert == "" || p.Key == "" {
			errs = append(errs, fmt.Errorf("tls_certificates[%d]: cert and key are required", i))
		}
	}
	if s.ACME && len(s.CertPairs()) > 0 {
		errs = append(errs, errors.New("acme and tls_cert/tls_certificates are exclusive"))
	}
	if !s.ACME && (s.ACMEEmail != "" || len(s.ACMEHosts) > 0 || s.ACMEDirectory != "") {
		errs = append(errs, errors.New("acme_email, acme_hosts and acme_directory need acme = true"))
	}
	return errs
}
