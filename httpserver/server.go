// Package httpserver is mailroom's HTTP(S) listener: Prometheus metrics,
// health and readiness, client autoconfiguration (Thunderbird, Microsoft
// Autodiscover, Apple configuration profiles) and the MTA-STS policy of
// the local domains. It has the shape of the other servers: New(Config),
// Serve/ServeTLS(net.Listener), Shutdown(ctx).
//
// Nothing is read from the file system: every answer is built from the
// Config, so no path can reach a file.
package httpserver

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Timeouts and limits of the net/http server (Config overrides none of
// them: they are generous for every endpoint served here).
const (
	readHeaderTimeout = 10 * time.Second
	readTimeout       = 30 * time.Second
	writeTimeout      = 60 * time.Second
	idleTimeout       = 120 * time.Second
	// maxHeaderBytes bounds a request's header (net/http adds 4 KiB of
	// slack); no client of these endpoints sends more.
	maxHeaderBytes = 16 << 10
	// maxBodyBytes bounds a request body (Autodiscover's POST is the only
	// one read; a real one is under 1 KiB).
	maxBodyBytes = 64 << 10
	// maxQueryBytes bounds the query string of a GET.
	maxQueryBytes = 1 << 10
)

// Domains tells which domains are local (store accounts and alias domains).
type Domains interface {
	IsLocalDomain(ctx context.Context, domain string) (bool, error)
}

// Check is one readiness condition of /readyz.
type Check struct {
	Name string
	// Func returns nil when the condition holds; its error is logged, not
	// shown.
	Func func(ctx context.Context) error
}

// Metrics is what the server reports about itself.
type Metrics interface {
	TLSHandshakeFailed(protocol string)
}

// Config configures a Server.
type Config struct {
	Logger *slog.Logger
	// Hostname is the mail host clients are configured with and the MX
	// of the MTA-STS policy.
	Hostname string
	Domains  Domains
	// Ports are the client ports advertised by autoconfiguration.
	Ports Ports
	// Metrics serves /metrics (promhttp.HandlerFor the process
	// registry); nil answers 404.
	MetricsHandler http.Handler
	// HTTPChallenge, when set, wraps the handler of plain-HTTP requests:
	// ACME HTTP-01 (tlsconfig.ACME.HTTPHandler) answers
	// /.well-known/acme-challenge/ and hands the rest to the fallback
	// it is given, the server's own routes.
	HTTPChallenge func(fallback http.Handler) http.Handler
	// MetricsAllow are the client networks that may read /metrics without
	// credentials; others need HTTP Basic with MetricsToken as password
	// over TLS (no token: refused).
	MetricsAllow []netip.Prefix
	MetricsToken string
	// Pprof serves net/http/pprof under /debug/pprof/ to MetricsAllow
	// clients only; false answers 404.
	Pprof bool
	// Ready are the conditions /readyz checks, each within ReadyTimeout
	// (default 2 s).
	Ready        []Check
	ReadyTimeout time.Duration
	// MTASTS is the policy served to mta-sts.<local domain>.
	MTASTS MTASTSPolicy
	// TLSConfig is what ServeTLS uses.
	TLSConfig *tls.Config
	// Metrics hears of failed TLS handshakes; nil reports nothing.
	Metrics Metrics
	// Admin serves /admin/ and /account/ (package webadmin, which
	// bounds its own bodies and sessions); nil answers 404 there.
	Admin http.Handler
}

// Server serves mailroom's HTTP endpoints.
type Server struct {
	cfg  Config
	log  *slog.Logger
	hs   *http.Server
	mux  *http.ServeMux
	once sync.Once
	// plain serves plain-HTTP requests: mux, or HTTPChallenge(mux).
	plain http.Handler

	// metrics is who may read /metrics: Config.MetricsAllow and
	// MetricsToken at first, SetMetricsAccess after.
	metrics atomic.Pointer[metricsAccess]
}

type metricsAccess struct {
	allow []netip.Prefix
	token string
}

// SetMetricsAccess replaces Config.MetricsAllow and MetricsToken of a
// running server (a config reload); requests that start afterwards are
// judged by them.
func (s *Server) SetMetricsAccess(allow []netip.Prefix, token string) {
	s.metrics.Store(&metricsAccess{allow: allow, token: token})
}

// New returns a Server for cfg.
func New(cfg Config) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.ReadyTimeout <= 0 {
		cfg.ReadyTimeout = 2 * time.Second
	}
	if cfg.Metrics == nil {
		cfg.Metrics = nopMetrics{}
	}
	s := &Server{cfg: cfg, log: cfg.Logger}
	s.SetMetricsAccess(cfg.MetricsAllow, cfg.MetricsToken)
	s.mux = http.NewServeMux()
	s.routes()
	s.plain = s.mux
	if cfg.HTTPChallenge != nil {
		s.plain = cfg.HTTPChallenge(s.mux)
	}
	s.hs = &http.Server{
		Handler:           s,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          log.New(&errorLog{s: s}, "", 0),
	}
	return s
}

type nopMetrics struct{}

func (nopMetrics) TLSHandshakeFailed(string) {}

// Serve serves plain HTTP on l until Shutdown.
func (s *Server) Serve(l net.Listener) error {
	return ignoreClosed(s.hs.Serve(l))
}

// ServeTLS serves HTTPS on l with Config.TLSConfig until Shutdown.
func (s *Server) ServeTLS(l net.Listener) error {
	if s.cfg.TLSConfig == nil {
		return errors.New("httpserver: ServeTLS without TLSConfig")
	}
	tc := s.cfg.TLSConfig.Clone()
	// HTTP/1.1 only: h2 would need its own limits reviewed, and no
	// endpoint here gains from it. ACME's TLS-ALPN-01 protocol stays.
	var protos []string
	for _, p := range tc.NextProtos {
		if p != "h2" {
			protos = append(protos, p)
		}
	}
	tc.NextProtos = append(protos, "http/1.1")
	return ignoreClosed(s.hs.Serve(tls.NewListener(l, tc)))
}

// Shutdown stops accepting, waits for requests in flight until ctx ends,
// then closes what is left.
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.hs.Shutdown(ctx)
	if err != nil {
		s.hs.Close()
	}
	return err
}

func ignoreClosed(err error) error {
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// ServeHTTP answers every request: panics become 500 (net/http would
// drop the connection), then the mux.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.log.Error("panic in http handler", "path", r.URL.Path, "panic", v)
			http.Error(w, "internal error", http.StatusInternalServerError)
		}
	}()
	if len(r.URL.RawQuery) > maxQueryBytes {
		http.Error(w, "query too long", http.StatusRequestURITooLong)
		return
	}
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if r.TLS == nil {
		s.plain.ServeHTTP(w, r)
		return
	}
	s.mux.ServeHTTP(w, r)
}

func (s *Server) routes() {
	s.mux.HandleFunc("/metrics", s.handleMetrics)
	s.mux.HandleFunc("/healthz", s.handleHealthz)
	s.mux.HandleFunc("/readyz", s.handleReadyz)
	s.mux.HandleFunc("/.well-known/autoconfig/mail/config-v1.1.xml", s.handleThunderbird)
	s.mux.HandleFunc("/mail/config-v1.1.xml", s.handleThunderbird)
	s.mux.HandleFunc("/autodiscover/autodiscover.xml", s.handleAutodiscover)
	s.mux.HandleFunc("/Autodiscover/Autodiscover.xml", s.handleAutodiscover)
	s.mux.HandleFunc("/apple/mailroom.mobileconfig", s.handleApple)
	s.mux.HandleFunc("/.well-known/mta-sts.txt", s.handleMTASTS)
	if s.cfg.Admin != nil {
		s.mux.Handle("/admin/", s.cfg.Admin)
		s.mux.Handle("/account/", s.cfg.Admin)
	}
	s.mux.HandleFunc("/debug/pprof/", s.handlePprof)
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) })
}

// methods answers OPTIONS (204 with Allow) and methods not in allowed
// (405); it reports whether the handler should go on. GET allows HEAD.
func methods(w http.ResponseWriter, r *http.Request, allowed ...string) bool {
	allow := strings.Join(allowed, ", ")
	for _, m := range allowed {
		if m == http.MethodGet {
			allow += ", HEAD"
		}
	}
	allow += ", OPTIONS"
	switch r.Method {
	case http.MethodOptions:
		w.Header().Set("Allow", allow)
		w.WriteHeader(http.StatusNoContent)
		return false
	case http.MethodHead:
		if contains(allowed, http.MethodGet) {
			return true // net/http discards the body
		}
	default:
		if contains(allowed, r.Method) {
			return true
		}
	}
	w.Header().Set("Allow", allow)
	http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	return false
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// remoteAddr is the client's address of the TCP connection (never a
// forwarded-for header: nothing here sits behind a trusted proxy).
func remoteAddr(r *http.Request) netip.Addr {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}

// errorLog receives net/http's own log lines: TLS handshake failures are
// counted, everything goes to the structured log.
type errorLog struct{ s *Server }

func (e *errorLog) Write(p []byte) (int, error) {
	sc := bufio.NewScanner(bytes.NewReader(p))
	for sc.Scan() {
		line := sc.Text()
		if strings.Contains(line, "TLS handshake error") {
			e.s.cfg.Metrics.TLSHandshakeFailed("https")
			e.s.log.Info("https: tls handshake failed", "detail", line)
			continue
		}
		e.s.log.Warn("http server", "detail", line)
	}
	return len(p), nil
}
