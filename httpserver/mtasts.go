package httpserver

import (
	"crypto/sha256"
	"encoding/base32"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// MTA-STS policy modes (RFC 8461 §3.2).
const (
	ModeEnforce = "enforce"
	ModeTesting = "testing"
	ModeNone    = "none"
)

// MaxMTASTSMaxAge is the largest max_age RFC 8461 §3.2 allows (about one
// year).
const MaxMTASTSMaxAge = 31557600 * time.Second

// MTASTSPolicy is the policy served for every local domain.
type MTASTSPolicy struct {
	Mode   string
	MaxAge time.Duration
	MX     []string // host names or "*.example.com" patterns
}

// Text is the policy file (RFC 8461 §3.2), CRLF line endings.
func (p MTASTSPolicy) Text() string {
	var b strings.Builder
	b.WriteString("version: STSv1\r\n")
	fmt.Fprintf(&b, "mode: %s\r\n", p.Mode)
	for _, mx := range p.MX {
		fmt.Fprintf(&b, "mx: %s\r\n", strings.TrimSuffix(mx, "."))
	}
	fmt.Fprintf(&b, "max_age: %d\r\n", int64(p.MaxAge/time.Second))
	return b.String()
}

// ID is the policy id for the _mta-sts TXT record: derived from the
// policy text, so it changes exactly when the policy does (RFC 8461
// §3.1: 1-32 alphanumeric characters).
func (p MTASTSPolicy) ID() string {
	sum := sha256.Sum256([]byte(p.Text()))
	enc := base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(sum[:])
	return strings.ToLower(enc[:20])
}

// handleMTASTS serves the policy at https://mta-sts.<domain>/.well-known/
// mta-sts.txt for local domains.
func (s *Server) handleMTASTS(w http.ResponseWriter, r *http.Request) {
	if !methods(w, r, http.MethodGet) {
		return
	}
	if !s.localDomain(w, r, hostDomain(r, "mta-sts.")) {
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "max-age=300")
	io.WriteString(w, s.cfg.MTASTS.Text())
}
