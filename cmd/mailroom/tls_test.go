package main

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/smtp"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// sendMailNoTLS is smtp.SendMail without STARTTLS, which would refuse the
// self-signed certificate of a zero-configuration server.
func sendMailNoTLS(addr, from string, to []string, msg []byte) error {
	nc, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return err
	}
	c, err := smtp.NewClient(nc, "localhost")
	if err != nil {
		nc.Close()
		return err
	}
	defer c.Close()
	if err := c.Mail(from); err != nil {
		return err
	}
	for _, r := range to {
		if err := c.Rcpt(r); err != nil {
			return err
		}
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write(msg); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return c.Quit()
}

// TestServeZeroConfigTLS: a zero-configuration server generates its
// self-signed certificate once (0600, fingerprint logged), serves it on
// the implicit-TLS listeners and STARTTLS, and reloads on SIGHUP.
func TestServeZeroConfigTLS(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := startServe(t, dir, append([]string{"--hostname", "mail.example.test"}, loopbackPorts...)...)
	certFile := filepath.Join(dir, "mailroom-data", "tls", "selfsigned.crt")
	for _, f := range []string{certFile, filepath.Join(dir, "mailroom-data", "tls", "selfsigned.key")} {
		fi, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v", f, fi.Mode().Perm())
		}
	}
	if !strings.Contains(p.log(), "sha256=") {
		t.Errorf("fingerprint not logged:\n%s", p.log())
	}
	pem, err := os.ReadFile(certFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	cfg := &tls.Config{RootCAs: pool, ServerName: "mail.example.test"}
	for proto, greet := range map[string]string{"smtps": "220 ", "pop3s": "+OK", "imaps": "* OK"} {
		c, err := tls.Dial("tcp", p.addr(t, proto), cfg)
		if err != nil {
			t.Fatalf("%s: %v", proto, err)
		}
		c.SetDeadline(time.Now().Add(30 * time.Second))
		line, _ := bufio.NewReader(c).ReadString('\n')
		c.Close()
		if !strings.HasPrefix(line, greet) {
			t.Errorf("%s greeting %q", proto, line)
		}
	}
	// STARTTLS on submission with Go's client.
	c, err := smtp.Dial(p.addr(t, "submission"))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.StartTLS(cfg); err != nil {
		t.Fatalf("starttls: %v", err)
	}
	c.Quit()

	if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(p.log(), "tls certificates reloaded") {
		if time.Now().After(deadline) {
			t.Fatalf("no reload after SIGHUP:\n%s", p.log())
		}
		time.Sleep(20 * time.Millisecond)
	}
	// A restart keeps the certificate.
	_ = p.cmd.Process.Signal(os.Interrupt)
	<-p.done
	startServe(t, dir, loopbackPorts...)
	again, _ := os.ReadFile(certFile)
	if string(again) != string(pem) {
		t.Error("restart generated a new certificate")
	}
}
