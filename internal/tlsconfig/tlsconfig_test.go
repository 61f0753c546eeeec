package tlsconfig

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// handshake dials a TLS server using cfg and returns the certificate it
// presented for serverName, verified against roots.
func handshake(t *testing.T, cfg *tls.Config, serverName string, roots *x509.CertPool) *x509.Certificate {
	t.Helper()
	l, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		c, err := l.Accept()
		if err != nil {
			return
		}
		c.(*tls.Conn).Handshake()
		c.Close()
	}()
	c, err := tls.Dial("tcp", l.Addr().String(), &tls.Config{ServerName: serverName, RootCAs: roots})
	if err != nil {
		t.Fatalf("handshake for %q: %v", serverName, err)
	}
	defer c.Close()
	st := c.ConnectionState()
	if st.Version < tls.VersionTLS12 {
		t.Errorf("version %x", st.Version)
	}
	return st.PeerCertificates[0]
}

func poolOf(t *testing.T, certFile string) *x509.CertPool {
	t.Helper()
	pem, err := os.ReadFile(certFile)
	if err != nil {
		t.Fatal(err)
	}
	p := x509.NewCertPool()
	if !p.AppendCertsFromPEM(pem) {
		t.Fatal("no certificate in", certFile)
	}
	return p
}

func TestSelfSignedGeneratedOnceAndVerifiable(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tls")
	m, err := NewSelfSigned(dir, "mail.example.test", time.Now(), quiet)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{SelfSignedCert, SelfSignedKey} {
		fi, err := os.Stat(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s mode %v, want 0600", f, fi.Mode().Perm())
		}
	}
	roots := poolOf(t, filepath.Join(dir, SelfSignedCert))
	for _, name := range []string{"mail.example.test", "localhost", "127.0.0.1", "::1"} {
		leaf := handshake(t, m.TLSConfig(), name, roots)
		if name == "mail.example.test" {
			if leaf.PublicKeyAlgorithm != x509.ECDSA {
				t.Errorf("key algorithm %v, want ECDSA", leaf.PublicKeyAlgorithm)
			}
		}
	}
	before, _ := os.ReadFile(filepath.Join(dir, SelfSignedCert))
	if _, err := NewSelfSigned(dir, "mail.example.test", time.Now(), quiet); err != nil {
		t.Fatal(err)
	}
	after, _ := os.ReadFile(filepath.Join(dir, SelfSignedCert))
	if string(before) != string(after) {
		t.Error("second start generated a new certificate")
	}
}

func TestTLS11Refused(t *testing.T) {
	m, err := NewSelfSigned(t.TempDir(), "h.test", time.Now(), quiet)
	if err != nil {
		t.Fatal(err)
	}
	l, err := tls.Listen("tcp", "127.0.0.1:0", m.TLSConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		c, err := l.Accept()
		if err == nil {
			c.(*tls.Conn).Handshake()
			c.Close()
		}
	}()
	_, err = tls.Dial("tcp", l.Addr().String(), &tls.Config{InsecureSkipVerify: true, MaxVersion: tls.VersionTLS11})
	if err == nil {
		t.Fatal("TLS 1.1 handshake succeeded")
	}
}

// TestSNIAndReload serves two certificates picked by SNI, replaces one
// file and reloads: an established connection keeps working and new
// handshakes see the new certificate.
func TestSNIAndReload(t *testing.T) {
	dir := t.TempDir()
	mk := func(sub, host string) Pair {
		p := Pair{Cert: filepath.Join(dir, sub, "c.pem"), Key: filepath.Join(dir, sub, "k.pem")}
		if err := os.MkdirAll(filepath.Dir(p.Cert), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := generate(p, host, time.Now()); err != nil {
			t.Fatal(err)
		}
		return p
	}
	a, b := mk("a", "a.example.test"), mk("b", "b.example.test")
	m, err := NewFiles([]Pair{a, b}, quiet)
	if err != nil {
		t.Fatal(err)
	}
	insecure := func(name string) *x509.Certificate {
		l, err := tls.Listen("tcp", "127.0.0.1:0", m.TLSConfig())
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		go func() {
			if c, err := l.Accept(); err == nil {
				c.(*tls.Conn).Handshake()
				c.Close()
			}
		}()
		c, err := tls.Dial("tcp", l.Addr().String(), &tls.Config{ServerName: name, InsecureSkipVerify: true})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		return c.ConnectionState().PeerCertificates[0]
	}
	if got := insecure("b.example.test").DNSNames[0]; got != "b.example.test" {
		t.Errorf("SNI b: got %s", got)
	}
	if got := insecure("other.test").DNSNames[0]; got != "a.example.test" {
		t.Errorf("unknown SNI: got %s, want the first certificate", got)
	}

	// An established connection across the reload.
	l, err := tls.Listen("tcp", "127.0.0.1:0", m.TLSConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		c, err := l.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		io.Copy(c, c) // echo
	}()
	old := insecure("b.example.test")
	live, err := tls.Dial("tcp", l.Addr().String(), &tls.Config{ServerName: "b.example.test", InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	defer live.Close()

	mk("b", "b.example.test") // new key and certificate in place
	if err := m.Reload(); err != nil {
		t.Fatal(err)
	}
	if Fingerprint(insecure("b.example.test")) == Fingerprint(old) {
		t.Error("reload did not pick up the new certificate")
	}
	live.Write([]byte("ping"))
	buf := make([]byte, 4)
	live.SetReadDeadline(time.Now().Add(30 * time.Second))
	if _, err := io.ReadFull(live, buf); err != nil || string(buf) != "ping" {
		t.Errorf("established connection after reload: %q %v", buf, err)
	}

	// A broken file keeps the old set.
	os.WriteFile(b.Cert, []byte("garbage"), 0o600)
	if err := m.Reload(); err == nil {
		t.Error("reload of a broken file succeeded")
	}
	if insecure("b.example.test") == nil {
		t.Error("no certificate after a failed reload")
	}
}

func TestACMEConfig(t *testing.T) {
	if _, err := NewACME(ACMEConfig{CacheDir: t.TempDir()}); err == nil {
		t.Error("ACME without hosts accepted")
	}
	if _, err := NewACME(ACMEConfig{Hosts: []string{"mail.example.test"}}); err == nil {
		t.Error("ACME without cache accepted")
	}
	a, err := NewACME(ACMEConfig{Hosts: []string{"mail.example.test"}, Email: "a@example.test", CacheDir: t.TempDir(), DirectoryURL: "https://acme.invalid/dir"})
	if err != nil {
		t.Fatal(err)
	}
	m := a.Manager()
	if err := m.HostPolicy(t.Context(), "mail.example.test"); err != nil {
		t.Errorf("configured host refused: %v", err)
	}
	if err := m.HostPolicy(t.Context(), "evil.example.test"); err == nil {
		t.Error("foreign host allowed")
	}
	c := a.TLSConfig()
	if c.MinVersion != tls.VersionTLS12 || c.GetCertificate == nil {
		t.Errorf("acme tls config: min %x", c.MinVersion)
	}
	if m.Client.DirectoryURL != "https://acme.invalid/dir" {
		t.Error("directory url not set")
	}
}
