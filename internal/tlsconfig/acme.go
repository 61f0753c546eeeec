package tlsconfig

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/crypto/acme"
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
	// DefaultHost is the certificate for handshakes without SNI (clients
	// that connect by IP address); default Hosts[0].
	DefaultHost string
	// Logger hears of every ACME failure; default discards.
	Logger *slog.Logger
	// HTTPClient talks to the CA; default http.DefaultClient's transport
	// with a 30 s timeout. Tests point it at a fake CA.
	HTTPClient *http.Client
}

// ACME obtains and renews certificates with autocert: TLS-ALPN-01 on
// every TLS listener and, once HTTPHandler serves the http listener,
// HTTP-01 too. Every failure is logged with its reason: a certificate
// that cannot be had (the handshake then fails with alert 80), and every
// request to the CA that fails or gets an error status, renewals in the
// background included.
type ACME struct {
	m           *autocert.Manager
	log         *slog.Logger
	defaultHost string
}

// NewACME returns the ACME certificate source for c. Certificates are
// obtained on the first handshake for a host and renewed by autocert
// before expiry.
func NewACME(c ACMEConfig) (*ACME, error) {
	if len(c.Hosts) == 0 {
		return nil, errors.New("tlsconfig: acme needs at least one hostname")
	}
	if c.CacheDir == "" {
		return nil, errors.New("tlsconfig: acme needs a cache directory")
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.DefaultHost == "" {
		c.DefaultHost = c.Hosts[0]
	}
	hc := c.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	log := c.Logger
	logged := *hc
	logged.Transport = &acmeTransport{next: hc.Transport, log: log}
	client := &acme.Client{DirectoryURL: c.DirectoryURL, HTTPClient: &logged}
	if client.DirectoryURL == "" {
		client.DirectoryURL = autocert.DefaultACMEDirectory
	}
	m := &autocert.Manager{
		Prompt:     autocert.AcceptTOS,
		Cache:      autocert.DirCache(filepath.Clean(c.CacheDir)),
		HostPolicy: autocert.HostWhitelist(c.Hosts...),
		Email:      c.Email,
		Client:     client,
	}
	return &ACME{m: m, log: log, defaultHost: strings.ToLower(c.DefaultHost)}, nil
}

// Manager is the underlying autocert.Manager.
func (a *ACME) Manager() *autocert.Manager { return a.m }

// TLSConfig returns the server TLS configuration: TLS 1.2+, with the
// acme-tls/1 protocol for TLS-ALPN-01, a handshake without SNI served
// the default host's certificate, and failures logged.
func (a *ACME) TLSConfig() *tls.Config {
	c := a.m.TLSConfig()
	c.MinVersion = tls.VersionTLS12
	c.GetCertificate = a.getCertificate
	return c
}

func (a *ACME) getCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	if hello.ServerName == "" {
		h := *hello
		h.ServerName = a.defaultHost
		hello = &h
	}
	cert, err := a.m.GetCertificate(hello)
	if err != nil {
		a.log.Warn("acme: no certificate; handshake fails", "host", hello.ServerName, "err", err)
	}
	return cert, err
}

// HTTPHandler serves ACME HTTP-01 challenges (/.well-known/acme-challenge/)
// and hands every other request to fallback. Calling it enables HTTP-01
// for the certificates obtained afterwards.
func (a *ACME) HTTPHandler(fallback http.Handler) http.Handler {
	return a.m.HTTPHandler(fallback)
}

// acmeTransport logs every request to the CA that fails or gets an error
// status, with the CA's problem detail (RFC 8555 §6.7), so that renewals
// failing in the background are seen too.
type acmeTransport struct {
	next http.RoundTripper
	log  *slog.Logger
}

// maxProblemBytes bounds the problem document read for the log.
const maxProblemBytes = 4 << 10

func (t *acmeTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	next := t.next
	if next == nil {
		next = http.DefaultTransport
	}
	resp, err := next.RoundTrip(r)
	if err != nil {
		t.log.Warn("acme: request to the CA failed", "method", r.Method, "url", r.URL.String(), "err", err)
		return nil, err
	}
	// 409 is how a CA answers a new-account request for an existing
	// account, 400 badNonce is retried by the client: both routine.
	if resp.StatusCode >= 400 {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, maxProblemBytes))
		resp.Body.Close()
		resp.Body = io.NopCloser(strings.NewReader(string(body)))
		if !strings.Contains(string(body), "badNonce") && resp.StatusCode != http.StatusConflict {
			t.log.Warn("acme: CA refused a request", "method", r.Method, "url", r.URL.String(),
				"status", resp.StatusCode, "problem", fmt.Sprintf("%.512s", body))
		}
	}
	return resp, nil
}
