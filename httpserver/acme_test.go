package httpserver

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/mailroom/mailroom/internal/tlsconfig"
)

// TestACMEHTTP01OnHTTPListener: with ACME's HTTP-01 handler plugged in,
// the plain-HTTP listener answers /.well-known/acme-challenge/<token>
// with the key authorization (from autocert's cache) and routes every
// other path to the server's own handlers; over HTTPS the challenge path
// is not served.
func TestACMEHTTP01OnHTTPListener(t *testing.T) {
	t.Parallel()
	cache := t.TempDir()
	if err := os.WriteFile(filepath.Join(cache, "tok456+http-01"), []byte("tok456.keyauth"), 0o600); err != nil {
		t.Fatal(err)
	}
	a, err := tlsconfig.NewACME(tlsconfig.ACMEConfig{
		Hosts: []string{"mail.example.com"}, CacheDir: cache, DirectoryURL: "http://127.0.0.1:1/directory",
	})
	if err != nil {
		t.Fatal(err)
	}
	cfg := baseConfig()
	cfg.HTTPChallenge = a.HTTPHandler
	base := start(t, cfg)
	resp, body := do(t, http.MethodGet, base+"/.well-known/acme-challenge/tok456", "mail.example.com", nil)
	if resp.StatusCode != http.StatusOK || string(body) != "tok456.keyauth" {
		t.Errorf("challenge over HTTP: %d %q", resp.StatusCode, body)
	}
	resp, body = do(t, http.MethodGet, base+"/healthz", "mail.example.com", nil)
	var h struct{ Status string }
	if err := json.Unmarshal(body, &h); err != nil {
		t.Fatalf("healthz: %v %q", err, body)
	}
	if resp.StatusCode != http.StatusOK || h.Status != "ok" {
		t.Errorf("healthz behind the challenge handler: %d %q", resp.StatusCode, body)
	}

	tlsBase, client := startTLS(t, cfg)
	resp, err = client.Get(tlsBase + "/.well-known/acme-challenge/tok456")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("challenge over HTTPS: %d, want 404", resp.StatusCode)
	}
}
