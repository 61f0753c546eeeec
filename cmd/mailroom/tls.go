package main

import (
	"crypto/tls"
	"log/slog"
	"net"
	"time"

	"github.com/mailroom/mailroom/auth"
	"github.com/mailroom/mailroom/internal/config"
	"github.com/mailroom/mailroom/internal/tlsconfig"
)

// setupTLS returns the server TLS configuration every listener shares, a
// reload function for SIGHUP (nil when there is nothing to reload) and,
// with ACME, the certificate source whose HTTP-01 handler the http
// listener serves: the PEM files of tls_cert/tls_certificates, else ACME,
// else the self-signed certificate in <data>/tls.
func setupTLS(cfg config.Config, log *slog.Logger) (*tls.Config, func() error, *tlsconfig.ACME, error) {
	log = log.With("component", "tls")
	if pairs := cfg.CertPairs(); len(pairs) > 0 {
		var ps []tlsconfig.Pair
		for _, p := range pairs {
			ps = append(ps, tlsconfig.Pair{Cert: p.Cert, Key: p.Key})
		}
		m, err := tlsconfig.NewFiles(ps, log)
		if err != nil {
			return nil, nil, nil, err
		}
		return m.TLSConfig(), m.Reload, nil, nil
	}
	if cfg.ACME {
		hosts := append([]string{cfg.Hostname}, cfg.ACMEHosts...)
		a, err := tlsconfig.NewACME(tlsconfig.ACMEConfig{
			Hosts: hosts, Email: cfg.ACMEEmail, CacheDir: cfg.TLSDir() + "/acme", DirectoryURL: cfg.ACMEDirectory,
			DefaultHost: cfg.Hostname, Logger: log,
		})
		if err != nil {
			return nil, nil, nil, err
		}
		log.Info("tls certificates from acme", "hosts", hosts)
		return a.TLSConfig(), nil, a, nil
	}
	m, err := tlsconfig.NewSelfSigned(cfg.TLSDir(), cfg.Hostname, time.Now(), log)
	if err != nil {
		return nil, nil, nil, err
	}
	return m.TLSConfig(), m.Reload, nil, nil
}

// plaintextPolicy is the servers' AllowPlaintextAuth: loopback only,
// unless allow_plaintext_auth is set.
func plaintextPolicy(cfg config.Config) func(net.Addr) bool {
	if cfg.AllowPlaintextAuth {
		return func(net.Addr) bool { return true }
	}
	return auth.IsLoopback
}
