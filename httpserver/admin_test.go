package httpserver

import (
	"net/http"
	"sync"
	"testing"
)

// Config.Admin gets /admin/ and /account/ and nothing else; without one
// those paths are 404.
func TestAdminMount(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var paths []string
	cfg := baseConfig()
	cfg.Admin = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		paths = append(paths, r.URL.Path)
		mu.Unlock()
		w.WriteHeader(http.StatusTeapot)
	})
	base := start(t, cfg)
	for _, p := range []string{"/admin/", "/admin/accounts", "/account/"} {
		if resp, _ := do(t, http.MethodGet, base+p, "", nil); resp.StatusCode != http.StatusTeapot {
			t.Errorf("GET %s: %d, want the admin handler's 418", p, resp.StatusCode)
		}
	}
	if resp, _ := do(t, http.MethodGet, base+"/admin", "", nil); resp.StatusCode/100 != 3 || resp.Header.Get("Location") != "/admin/" {
		t.Errorf("GET /admin: %d %q, want a redirect to /admin/", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp, _ := do(t, http.MethodGet, base+"/administrator", "", nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /administrator: %d", resp.StatusCode)
	}
	mu.Lock()
	if len(paths) != 3 {
		t.Errorf("admin handler saw %v", paths)
	}
	mu.Unlock()

	off := start(t, baseConfig())
	for _, p := range []string{"/admin/", "/account/"} {
		if resp, _ := do(t, http.MethodGet, off+p, "", nil); resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s without Admin: %d, want 404", p, resp.StatusCode)
		}
	}
}
