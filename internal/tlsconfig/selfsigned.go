package tlsconfig

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// Self-signed certificate file names inside <data>/tls.
const (
	SelfSignedCert = "selfsigned.crt"
	SelfSignedKey  = "selfsigned.key"
)

// selfSignedValidity is how long a generated certificate is valid.
const selfSignedValidity = 5 * 365 * 24 * time.Hour

// NewSelfSigned returns a Manager serving the self-signed certificate in
// dir (normally <data>/tls), generating it first if it does not exist: an
// ECDSA P-256 key and a certificate for hostname, localhost, 127.0.0.1
// and ::1. The files are written with mode 0600; the certificate's SHA-256
// fingerprint is logged so that clients can pin it.
func NewSelfSigned(dir, hostname string, now time.Time, log *slog.Logger) (*Manager, error) {
	if log == nil {
		log = slog.Default()
	}
	p := Pair{Cert: filepath.Join(dir, SelfSignedCert), Key: filepath.Join(dir, SelfSignedKey)}
	if _, err := os.Stat(p.Cert); errors.Is(err, fs.ErrNotExist) {
		if err := generate(p, hostname, now); err != nil {
			return nil, err
		}
		log.Info("generated a self-signed tls certificate", "file", p.Cert, "hostname", hostname)
	} else if err != nil {
		return nil, err
	}
	return NewFiles([]Pair{p}, log)
}

func generate(p Pair, hostname string, now time.Time) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return err
	}
	names := []string{"localhost"}
	if hostname != "" && hostname != "localhost" && net.ParseIP(hostname) == nil {
		names = append([]string{hostname}, names...)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: names[0], Organization: []string{"mailroom self-signed"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(selfSignedValidity),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true, // so that clients can trust it as its own root
		DNSNames:              names,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(p.Cert), 0o700); err != nil {
		return err
	}
	// Key first: a crash between the two leaves no certificate, so the
	// next start generates both again.
	if err := writeFile(p.Key, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})); err != nil {
		return err
	}
	return writeFile(p.Cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

// writeFile writes data to path atomically with mode 0600.
func writeFile(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return fmt.Errorf("tlsconfig: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("tlsconfig: %w", err)
	}
	return nil
}
