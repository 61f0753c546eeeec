package httpserver

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/pprof"
	"strings"
	"time"
)

// handleMetrics serves the Prometheus exposition to allowed networks, or
// to HTTP Basic with the token (any user name) over TLS.
func (s *Server) handleMetrics(w http.ResponseWriter, r *http.Request) {
	if !methods(w, r, http.MethodGet) {
		return
	}
	if s.cfg.MetricsHandler == nil {
		http.NotFound(w, r)
		return
	}
	acc := s.metrics.Load()
	if !acc.allowed(r) {
		if acc.token != "" && r.TLS != nil {
			w.Header().Set("WWW-Authenticate", `Basic realm="mailroom metrics", charset="UTF-8"`)
			http.Error(w, "credentials required", http.StatusUnauthorized)
			return
		}
		http.Error(w, "forbidden", http.StatusForbidden)
		return
	}
	s.cfg.MetricsHandler.ServeHTTP(w, r)
}

// fromAllowedNetwork reports whether r comes from a metrics_allow network.
func (acc *metricsAccess) fromAllowedNetwork(r *http.Request) bool {
	ip := remoteAddr(r)
	for _, p := range acc.allow {
		if ip.IsValid() && p.Contains(ip) {
			return true
		}
	}
	return false
}

func (acc *metricsAccess) allowed(r *http.Request) bool {
	if acc.fromAllowedNetwork(r) {
		return true
	}
	if acc.token == "" || r.TLS == nil {
		return false
	}
	_, pw, ok := r.BasicAuth()
	return ok && subtle.ConstantTimeCompare([]byte(pw), []byte(acc.token)) == 1
}

// healthz: the process is up and serving HTTP.
func (s *Server) handleHealthz(w http.ResponseWriter, r *http.Request) {
	if !methods(w, r, http.MethodGet) {
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// ReadyStatus is /readyz's JSON body.
type ReadyStatus struct {
	Status string                 `json:"status"` // "ready" or "not ready"
	Checks map[string]CheckResult `json:"checks"`
}

// CheckResult is one condition of ReadyStatus.
type CheckResult struct {
	OK         bool    `json:"ok"`
	Error      string  `json:"error,omitempty"` // "failed" or "timeout"; the cause is logged
	DurationMS float64 `json:"duration_ms"`
}

// handleReadyz runs every check concurrently, each within ReadyTimeout:
// 200 when all hold, else 503.
func (s *Server) handleReadyz(w http.ResponseWriter, r *http.Request) {
	if !methods(w, r, http.MethodGet) {
		return
	}
	st := ReadyStatus{Status: "ready", Checks: make(map[string]CheckResult, len(s.cfg.Ready))}
	type result struct {
		name string
		res  CheckResult
	}
	ch := make(chan result, len(s.cfg.Ready))
	for _, c := range s.cfg.Ready {
		go func() {
			ctx, cancel := context.WithTimeout(r.Context(), s.cfg.ReadyTimeout)
			defer cancel()
			start := time.Now()
			err := runCheck(ctx, c.Func)
			res := CheckResult{OK: err == nil, DurationMS: float64(time.Since(start).Microseconds()) / 1000}
			if err != nil {
				res.Error = "failed"
				if errors.Is(err, context.DeadlineExceeded) {
					res.Error = "timeout"
				}
				s.log.Warn("readyz: check failed", "check", c.Name, "err", err)
			}
			ch <- result{c.Name, res}
		}()
	}
	for range s.cfg.Ready {
		res := <-ch
		st.Checks[res.name] = res.res
		if !res.res.OK {
			st.Status = "not ready"
		}
	}
	code := http.StatusOK
	if st.Status != "ready" {
		code = http.StatusServiceUnavailable
	}
	writeJSON(w, code, st)
}

// runCheck runs f but returns when ctx ends even if f does not.
func runCheck(ctx context.Context, f func(context.Context) error) error {
	done := make(chan error, 1)
	go func() { done <- f(ctx) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

// handlePprof serves Go's profiles (net/http/pprof) when Config.Pprof is
// on, to MetricsAllow clients only: a CPU profile costs the server CPU
// while it runs, and a heap profile shows memory addresses.
func (s *Server) handlePprof(w http.ResponseWriter, r *http.Request) {
	if !s.cfg.Pprof {
		http.NotFound(w, r)
		return
	}
	if !methods(w, r, http.MethodGet) {
		return
	}
	if !s.metrics.Load().fromAllowedNetwork(r) { // the token does not unlock profiles
		http.Error(w, "forbidden", http.StatusForbidden)
		return
	}
	switch name := strings.TrimPrefix(r.URL.Path, "/debug/pprof/"); name {
	case "profile":
		pprof.Profile(w, r)
	case "trace": // runtime trace (go tool trace): where goroutines wait
		pprof.Trace(w, r)
	case "":
		pprof.Index(w, r)
	default:
		pprof.Handler(name).ServeHTTP(w, r)
	}
}
