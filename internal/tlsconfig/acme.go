package tlsconfig

import (
	"crypto/tls"
	"errors"
	"path/filepath"

	"golang.org/x/crypto/acme/autocert"
)

// ACMEConfig configures certificates from an ACME CA (Let's Encrypt by
// default) for public hostnames.
type ACMEConfig struct {
	Hosts    []string // names the CA may issue for; required
	Email    string   // contact address given to the CA; optional
	CacheDir string   // where keys and certificates are kept (<data>/tls/acme)
	// DirectoryURL overrides the CA's directory (e.g. a staging CA); empty
	// means autocert's default, Let's Encrypt production.
	DirectoryURL string
}

// NewACME returns an autocert.Manager for c. Certificates are obtained on
// the first handshake for a host with TLS-ALPN-01 (port 443 must reach
// this server; see the README) and renewed by autocert before expiry.
func NewACME(c ACMEConfig) (*autocert.Manager, error) {
	if len(c.Hosts) == 0 {
		return nil, errors.New("tlsconfig: acme needs at least one hostname")
	}
	if c.CacheDir == "" {
		return nil, errors.New("tlsconfig: acme needs a cache directory")
	}
	m := &autocert.Manager{
		Prompt:     autocert.AcceptTOS,
		Cache:      autocert.DirCache(filepath.Clean(c.CacheDir)),
		HostPolicy: autocert.HostWhitelist(c.Hosts...),
		Email:      c.Email,
	}
	if c.DirectoryURL != "" {
		m.Client = newACMEClient(c.DirectoryURL)
	}
	return m, nil
}

// ACMETLSConfig returns the server TLS configuration for an autocert
// manager: TLS 1.2+, with the acme-tls/1 protocol for TLS-ALPN-01.
func ACMETLSConfig(m *autocert.Manager) *tls.Config {
	c := m.TLSConfig()
	c.MinVersion = tls.VersionTLS12
	return c
}
