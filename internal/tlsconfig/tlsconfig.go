// Package tlsconfig provides the certificates every mailroom listener
// serves: PEM files named in the configuration (several, picked by SNI),
// reloaded on demand (SIGHUP) without dropping connections; an ACME
// (autocert) manager for a public hostname; and, when neither is
// configured, a self-signed certificate generated once and kept in the data
// directory.
package tlsconfig

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
)

// Pair names one certificate chain and its private key, both PEM files.
type Pair struct {
	Cert string
	Key  string
}

// Manager holds the current certificate set and hands it to TLS
// handshakes through GetCertificate. Reload swaps the whole set
// atomically: handshakes in progress keep the set they started with, and
// established connections are never touched.
type Manager struct {
	pairs []Pair
	log   *slog.Logger
	set   atomic.Pointer[certSet]
}

type certSet struct {
	certs  []*tls.Certificate
	byName map[string]*tls.Certificate // lower-case DNS name or "*.suffix"
}

// NewFiles loads pairs (at least one) and returns a Manager serving them.
// The first pair is the default for clients that send no matching SNI.
func NewFiles(pairs []Pair, log *slog.Logger) (*Manager, error) {
	if len(pairs) == 0 {
		return nil, errors.New("tlsconfig: no certificate configured")
	}
	if log == nil {
		log = slog.Default()
	}
	m := &Manager{pairs: append([]Pair(nil), pairs...), log: log}
	if err := m.Reload(); err != nil {
		return nil, err
	}
	return m, nil
}

// Reload reads every certificate file again and, if all load, makes them
// current. On error the previous set stays in use.
func (m *Manager) Reload() error {
	set := &certSet{byName: make(map[string]*tls.Certificate)}
	for _, p := range m.pairs {
		c, err := tls.LoadX509KeyPair(p.Cert, p.Key)
		if err != nil {
			return fmt.Errorf("tlsconfig: load %s: %w", p.Cert, err)
		}
		set.add(&c)
		m.log.Info("tls certificate loaded", "file", p.Cert, "names", strings.Join(c.Leaf.DNSNames, ","),
			"sha256", Fingerprint(c.Leaf), "not_after", c.Leaf.NotAfter)
	}
	m.set.Store(set)
	return nil
}

func (s *certSet) add(c *tls.Certificate) {
	s.certs = append(s.certs, c)
	if c.Leaf == nil {
		return
	}
	names := c.Leaf.DNSNames
	if len(names) == 0 && c.Leaf.Subject.CommonName != "" {
		names = []string{c.Leaf.Subject.CommonName}
	}
	for _, n := range names {
		n = strings.ToLower(strings.TrimSuffix(n, "."))
		if _, dup := s.byName[n]; !dup {
			s.byName[n] = c
		}
	}
}

// GetCertificate picks the certificate for a handshake: an exact SNI
// match, then a wildcard match, then the first configured certificate.
func (m *Manager) GetCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	set := m.set.Load()
	if set == nil || len(set.certs) == 0 {
		return nil, errors.New("tlsconfig: no certificate")
	}
	name := strings.ToLower(strings.TrimSuffix(hello.ServerName, "."))
	if c, ok := set.byName[name]; ok {
		return c, nil
	}
	if i := strings.IndexByte(name, '.'); i > 0 {
		if c, ok := set.byName["*"+name[i:]]; ok {
			return c, nil
		}
	}
	return set.certs[0], nil
}

// TLSConfig returns a server configuration using m: TLS 1.2 or later, Go's
// default cipher suites and curves.
func (m *Manager) TLSConfig() *tls.Config {
	return &tls.Config{
		MinVersion:     tls.VersionTLS12,
		GetCertificate: m.GetCertificate,
	}
}

// Fingerprint is the SHA-256 of a certificate's DER encoding in hex, as
// `openssl x509 -fingerprint -sha256` prints it (without colons).
func Fingerprint(c *x509.Certificate) string {
	if c == nil {
		return ""
	}
	sum := sha256.Sum256(c.Raw)
	return hex.EncodeToString(sum[:])
}
