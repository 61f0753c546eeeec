package main

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
)

// serve holds limits.gc_heap_floor_bytes (default 32 MiB): after a
// collection the server's next one is past the floor, as its heap
// profile reports (gc=1 collects first); with 0 it is not.
func TestServeGCHeapFloor(t *testing.T) {
	t.Parallel()
	nextGC := regexp.MustCompile(`# NextGC = (\d+)`)
	for _, tc := range []struct {
		key      string
		atLeast  bool
		boundary int64
	}{{"", true, 32 << 20}, {"gc_heap_floor_bytes = 0\n", false, 32 << 20}} {
		dir := t.TempDir()
		cfg := "data = \"d\"\nhostname = \"mx.example.test\"\npprof = true\nmetrics_allow = [\"127.0.0.1/32\"]\n" +
			"smtp = \"\"\nsubmission = \"\"\npop3 = \"\"\nimap = \"\"\nsmtps = \"\"\npop3s = \"\"\nimaps = \"\"\nhttps = \"\"\n" +
			"[limits]\n" + tc.key
		if err := os.WriteFile(filepath.Join(dir, "m.toml"), []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
		p := startServe(t, dir, "--config", "m.toml", "--http", "127.0.0.1:0", "--https", "", "--managesieve", "")
		resp, err := http.Get("http://" + p.addr(t, "http") + "/debug/pprof/heap?debug=1&gc=1")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		m := nextGC.FindSubmatch(body)
		if m == nil {
			t.Fatalf("%q: no NextGC in the heap profile (%d): %.200s", tc.key, resp.StatusCode, body)
		}
		n, _ := strconv.ParseInt(string(m[1]), 10, 64)
		if (n >= tc.boundary) != tc.atLeast {
			t.Errorf("%q: NextGC = %d, want >= %d: %v", tc.key, n, tc.boundary, tc.atLeast)
		}
	}
}
