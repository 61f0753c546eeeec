package tlsconfig

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// jsonLog collects JSON log records.
type jsonLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *jsonLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *jsonLog) records(t *testing.T, msg string) []map[string]any {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(l.buf.String()), "\n") {
		if line == "" {
			continue
		}
		var r map[string]any
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if r["msg"] == msg {
			out = append(out, r)
		}
	}
	return out
}

// failedHandshake runs a handshake with cfg that must fail, SNI
// serverName ("" sends none: the client dials an IP address).
func failedHandshake(t *testing.T, cfg *tls.Config, serverName string) error {
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
	c, err := tls.Dial("tcp", l.Addr().String(), &tls.Config{ServerName: serverName, InsecureSkipVerify: true})
	if err == nil {
		c.Close()
		t.Fatalf("handshake for %q succeeded", serverName)
	}
	return err
}

// TestACMEFailuresLogged: a CA that cannot be reached, and one that
// refuses, make handshakes fail (alert 80) — and now each failure is
// logged with its reason: the request to the CA and the certificate
// the handshake could not get. A handshake without SNI asks for the
// default host's certificate instead of failing for "missing server name".
func TestACMEFailuresLogged(t *testing.T) {
	t.Parallel()
	// A CA that refuses everything with a problem document.
	refusing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(http.StatusForbidden)
		io.WriteString(w, `{"type":"urn:ietf:params:acme:error:unauthorized","detail":"test CA says no"}`)
	}))
	t.Cleanup(refusing.Close) // after the parallel subtests
	// A CA that is gone: its port refuses connections. Port 1 on
	// loopback, where nothing listens: the port of a test server just
	// closed could be taken by another test's listener meanwhile.
	const goneURL = "http://127.0.0.1:1/directory"

	for _, tc := range []struct {
		name, dir, sni string
		wantCA         string // the CA failure record's msg
		wantReason     string
	}{
		{"unreachable", goneURL, "mail.example.test", "acme: request to the CA failed", "connect"},
		{"refusing", refusing.URL + "/directory", "mail.example.test", "acme: CA refused a request", "test CA says no"},
		{"no SNI", refusing.URL + "/directory", "", "acme: CA refused a request", "test CA says no"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var log jsonLog
			a, err := NewACME(ACMEConfig{
				Hosts: []string{"mail.example.test", "other.example.test"}, DefaultHost: "mail.example.test",
				CacheDir: t.TempDir(), DirectoryURL: tc.dir,
				Logger: slog.New(slog.NewJSONHandler(&log, nil)),
				// A hang guard: the refusing CA's answer must come
				// within it, on a loaded machine too.
				HTTPClient: &http.Client{Timeout: 30 * time.Second},
			})
			if err != nil {
				t.Fatal(err)
			}
			err = failedHandshake(t, a.TLSConfig(), tc.sni)
			if !strings.Contains(err.Error(), "internal error") {
				t.Errorf("client saw %v, want alert 80 (internal error)", err)
			}
			ca := log.records(t, tc.wantCA)
			if len(ca) == 0 {
				t.Fatalf("no %q record; log:\n%s", tc.wantCA, log.buf.String())
			}
			reason := ca[0]["err"]
			if reason == nil {
				reason = ca[0]["problem"]
			}
			if s, _ := reason.(string); !strings.Contains(s, tc.wantReason) {
				t.Errorf("CA failure reason %q, want it to mention %q", reason, tc.wantReason)
			}
			hs := log.records(t, "acme: no certificate; handshake fails")
			if len(hs) != 1 || hs[0]["host"] != "mail.example.test" {
				t.Fatalf("handshake failure records %v, want one for mail.example.test", hs)
			}
			if e, _ := hs[0]["err"].(string); e == "" || strings.Contains(e, "missing server name") {
				t.Errorf("handshake failure reason %q", e)
			}
		})
	}
}

// TestACMENoSNIUsesHostname: a client that sends no SNI (it dialled an
// IP address) gets the default host's certificate from the ACME cache;
// before, autocert refused it ("missing server name", alert 80).
func TestACMENoSNIUsesHostname(t *testing.T) {
	t.Parallel()
	// A certificate for the hostname, as autocert caches it (key, then
	// chain, in the file named after the host).
	ssDir := t.TempDir()
	if _, err := NewSelfSigned(ssDir, "mail.example.test", time.Now(), quiet); err != nil {
		t.Fatal(err)
	}
	key, err := os.ReadFile(filepath.Join(ssDir, SelfSignedKey))
	if err != nil {
		t.Fatal(err)
	}
	cert, err := os.ReadFile(filepath.Join(ssDir, SelfSignedCert))
	if err != nil {
		t.Fatal(err)
	}
	cache := t.TempDir()
	if err := os.WriteFile(filepath.Join(cache, "mail.example.test"), append(key, cert...), 0o600); err != nil {
		t.Fatal(err)
	}
	a, err := NewACME(ACMEConfig{
		Hosts: []string{"mail.example.test"}, CacheDir: cache,
		DirectoryURL: "http://127.0.0.1:1/directory", // never asked: the certificate is cached
	})
	if err != nil {
		t.Fatal(err)
	}
	got := handshake(t, a.TLSConfig(), "", poolOf(t, filepath.Join(ssDir, SelfSignedCert)))
	if len(got.DNSNames) == 0 || got.DNSNames[0] != "mail.example.test" {
		t.Errorf("certificate without SNI for %v, want mail.example.test", got.DNSNames)
	}
}

// TestACMEHTTP01Routing: the HTTP-01 handler answers a challenge token
// under /.well-known/acme-challenge/ for a configured host from the cache,
// refuses other hosts, and hands every other path to the fallback.
func TestACMEHTTP01Routing(t *testing.T) {
	t.Parallel()
	cache := t.TempDir()
	// autocert keeps a pending token's key authorization as <token>+http-01.
	if err := os.WriteFile(filepath.Join(cache, "tok123+http-01"), []byte("tok123.thumbprint"), 0o600); err != nil {
		t.Fatal(err)
	}
	a, err := NewACME(ACMEConfig{Hosts: []string{"mail.example.test"}, CacheDir: cache, DirectoryURL: "http://127.0.0.1:1/directory"})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(a.HTTPHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "fallback "+r.URL.Path)
	})))
	defer srv.Close()
	get := func(host, path string) (int, string) {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, srv.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Host = host
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get("mail.example.test", "/.well-known/acme-challenge/tok123"); code != 200 || body != "tok123.thumbprint" {
		t.Errorf("challenge: %d %q", code, body)
	}
	if code, _ := get("mail.example.test", "/.well-known/acme-challenge/unknown"); code != http.StatusNotFound {
		t.Errorf("unknown token: %d, want 404", code)
	}
	if code, _ := get("evil.example.test", "/.well-known/acme-challenge/tok123"); code != http.StatusForbidden {
		t.Errorf("foreign host: %d, want 403", code)
	}
	if code, body := get("mail.example.test", "/healthz"); code != 200 || body != "fallback /healthz" {
		t.Errorf("other path: %d %q", code, body)
	}
}
