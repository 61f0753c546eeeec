package queue

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mailroom/mailroom/store"
)

// certFor returns a server config with a certificate for host and a pool
// that trusts it.
func certFor(t *testing.T, host string) (*tls.Config, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: host},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), DNSNames: []string{host}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(c)
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}, pool
}

// policyServer serves MTA-STS policies over HTTPS (httptest's own CA),
// one per domain, and counts fetches.
type policyServer struct {
	mu      sync.Mutex
	bodies  map[string]string
	fetches atomic.Int32
	srv     *httptest.Server
}

func startPolicyServer(t *testing.T) *policyServer {
	ps := &policyServer{bodies: map[string]string{}}
	ps.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ps.fetches.Add(1)
		ps.mu.Lock()
		body, ok := ps.bodies[strings.TrimPrefix(r.URL.Path, "/")]
		ps.mu.Unlock()
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write([]byte(body))
	}))
	t.Cleanup(ps.srv.Close)
	return ps
}

func (ps *policyServer) set(domain, body string) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	ps.bodies[domain] = body
}

func (ps *policyServer) fetcher() PolicyFetcher {
	return NewPolicyFetcher(ps.srv.Client(), func(d string) string { return ps.srv.URL + "/" + d })
}

// logBuf collects log output safely across goroutines.
type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

const enforcePolicy = "version: STSv1\r\nmode: enforce\r\nmx: mx.remote.test\r\nmax_age: 86400\r\n"

// stsSetup returns a resolver publishing remote.test's STS record, the
// policy server holding policy, and a config using both.
func stsSetup(t *testing.T, policy string, ports map[string]string, mxs ...string) (Store, *testResolver, Config) {
	t.Helper()
	st, _ := newStoreWith(t, "alice@example.org")
	res := newTestResolver()
	res.addMX("remote.test", mxs...)
	res.txt["_mta-sts.remote.test"] = []string{"v=STSv1; id=20260101T000000"}
	ps := startPolicyServer(t)
	ps.set("remote.test", policy)
	cfg := fastConfig(st, res, ports)
	cfg.PolicyFetcher = ps.fetcher()
	return st, res, cfg
}

func enqueueBob(t *testing.T, q *Queue) int64 {
	t.Helper()
	id, err := q.Enqueue(context.Background(), "alice@example.org", []string{"bob@remote.test"}, []byte(testMsg))
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// deferred waits until the item's recipient has failed an attempt, still
// pending, and returns its last error.
func deferred(t *testing.T, st Store, id int64) string {
	t.Helper()
	var it store.QueueItem
	waitFor(t, "a deferred attempt", func() bool {
		var err error
		it, err = st.QueueItem(context.Background(), id)
		return err == nil && it.Recipients[0].Attempts >= 1
	})
	if r := it.Recipients[0]; r.Status != store.RcptPending {
		t.Fatalf("recipient %+v, want pending (temporary failure)", r)
	}
	return it.Recipients[0].LastError
}

func TestMTASTSEnforceValidCertDelivers(t *testing.T) {
	srvTLS, pool := certFor(t, "mx.remote.test")
	sk := startSinkWith(t, nil, srvTLS, nil)
	st, _, cfg := stsSetup(t, enforcePolicy, map[string]string{"mx.remote.test": sk.port()}, "mx.remote.test")
	cfg.RootCAs = pool
	q := startQueue(t, cfg)
	enqueueBob(t, q)
	waitFor(t, "the queue to empty", queueEmpty(t, st))
	if m := sk.messages(); len(m) != 1 || !m[0].tls {
		t.Fatalf("messages %+v, want one over TLS", m)
	}
}

// An MX host the policy does not list is never contacted; with none
// left, the recipient is deferred.
func TestMTASTSEnforceSkipsUnlistedMX(t *testing.T) {
	srvTLS, pool := certFor(t, "mx.remote.test")
	bad := startSink(t, nil)
	good := startSinkWith(t, nil, srvTLS, nil)
	ports := map[string]string{"evil.remote.test": bad.port(), "mx.remote.test": good.port()}
	st, _, cfg := stsSetup(t, enforcePolicy, ports, "evil.remote.test", "mx.remote.test")
	cfg.RootCAs = pool
	q := startQueue(t, cfg)
	enqueueBob(t, q)
	waitFor(t, "the queue to empty", queueEmpty(t, st))
	bad.mu.Lock()
	tried := len(bad.attempts)
	bad.mu.Unlock()
	if len(bad.messages()) != 0 || tried != 0 {
		t.Fatalf("unlisted MX got %+v", bad.messages())
	}
	if m := good.messages(); len(m) != 1 || !m[0].tls {
		t.Fatalf("listed MX got %+v", m)
	}

	st2, _, cfg2 := stsSetup(t, enforcePolicy, map[string]string{"evil.remote.test": bad.port()}, "evil.remote.test")
	q2 := startQueue(t, cfg2)
	if e := deferred(t, st2, enqueueBob(t, q2)); !strings.Contains(e, "MTA-STS") {
		t.Fatalf("last error %q", e)
	}
	if len(bad.messages()) != 0 {
		t.Fatalf("unlisted MX got %+v", bad.messages())
	}
}

// Under enforce, a server without STARTTLS or with a certificate the
// roots do not trust gets nothing, not even in plaintext.
func TestMTASTSEnforceNoPlaintextFallback(t *testing.T) {
	_, pool := certFor(t, "mx.remote.test")
	for name, srvTLS := range map[string]*tls.Config{"no STARTTLS": nil, "untrusted": selfSigned(t)} {
		t.Run(name, func(t *testing.T) {
			sk := startSinkWith(t, nil, srvTLS, nil)
			st, _, cfg := stsSetup(t, enforcePolicy, map[string]string{"mx.remote.test": sk.port()}, "mx.remote.test")
			cfg.RootCAs = pool
			q := startQueue(t, cfg)
			e := deferred(t, st, enqueueBob(t, q))
			if len(sk.messages()) != 0 {
				t.Fatalf("server got %+v", sk.messages())
			}
			if e == "" {
				t.Fatal("no error recorded")
			}
		})
	}
}

// mode testing delivers as without a policy (here over TLS with an
// untrusted certificate) and logs what would have failed.
func TestMTASTSTestingModeWarns(t *testing.T) {
	_, pool := certFor(t, "mx.remote.test")
	sk := startSinkWith(t, nil, selfSigned(t), nil)
	policy := strings.Replace(enforcePolicy, "enforce", "testing", 1)
	st, _, cfg := stsSetup(t, policy, map[string]string{"mx.remote.test": sk.port()}, "mx.remote.test")
	cfg.RootCAs = pool
	var logs logBuf
	cfg.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	q := startQueue(t, cfg)
	enqueueBob(t, q)
	waitFor(t, "the queue to empty", queueEmpty(t, st))
	if m := sk.messages(); len(m) != 1 || !m[0].tls {
		t.Fatalf("messages %+v, want one over TLS", m)
	}
	if !strings.Contains(logs.String(), "MTA-STS policy would fail (mode testing)") {
		t.Fatalf("no warning in log:\n%s", logs.String())
	}
}

// A policy is fetched once, kept until max_age, refetched when the TXT id
// changes, and a cached one survives a failed fetch or a missing record.
func TestMTASTSCache(t *testing.T) {
	ctx := context.Background()
	res := newTestResolver()
	res.txt["_mta-sts.remote.test"] = []string{"v=STSv1; id=1"}
	ps := startPolicyServer(t)
	ps.set("remote.test", "version: STSv1\nmode: enforce\nmx: mx.remote.test\nmax_age: 600\n")
	now := time.Unix(1_800_000_000, 0)
	var mu sync.Mutex
	q := New(Config{Store: nil, Logger: testLog, Resolver: res, PolicyFetcher: ps.fetcher(),
		Now: func() time.Time { mu.Lock(); defer mu.Unlock(); return now }})
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	check := func(wantFetches int32, wantMode stsMode) {
		t.Helper()
		p := q.stsPolicyFor(ctx, "remote.test")
		mode := stsNone
		if p != nil {
			mode = p.mode
		}
		if got := ps.fetches.Load(); got != wantFetches || mode != wantMode {
			t.Fatalf("fetches %d mode %q, want %d %q", got, mode, wantFetches, wantMode)
		}
	}
	check(1, stsEnforce)
	advance(5 * time.Minute)
	check(1, stsEnforce) // cached
	res.mu.Lock()
	res.txt["_mta-sts.remote.test"] = []string{"v=STSv1; id=2"}
	res.mu.Unlock()
	ps.set("remote.test", "version: STSv1\nmode: testing\nmx: mx.remote.test\nmax_age: 600\n")
	check(2, stsTesting) // new id: refetched
	advance(9 * time.Minute)
	check(2, stsTesting)
	advance(2 * time.Minute) // past max_age
	check(3, stsTesting)
	ps.set("remote.test", "garbage")
	res.mu.Lock()
	res.txt["_mta-sts.remote.test"] = []string{"v=STSv1; id=3"}
	res.mu.Unlock()
	check(4, stsTesting) // fetch failed: the cached policy stays
	res.mu.Lock()
	delete(res.txt, "_mta-sts.remote.test")
	res.mu.Unlock()
	check(4, stsTesting) // no record: the cached policy stays until max_age
	advance(11 * time.Minute)
	check(4, stsNone)
}

func TestParseSTSPolicy(t *testing.T) {
	p, err := parseSTSPolicy([]byte("version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmx: *.example.net\r\nmx: backupmx.example.com\r\nmax_age: 604800\r\nextension: ignored\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	if p.mode != stsEnforce || p.maxAge != 604800*time.Second || len(p.mx) != 3 {
		t.Fatalf("policy %+v", p)
	}
	for host, want := range map[string]bool{
		"mail.example.com": true, "MAIL.example.com.": true, "a.example.net": true,
		"example.net": false, "a.b.example.net": false, "other.example.com": false, "xexample.net": false,
	} {
		if p.allows(host) != want {
			t.Errorf("allows(%q) = %v, want %v", host, !want, want)
		}
	}
	if p, err := parseSTSPolicy([]byte("version: STSv1\nmode: none\nmax_age: 0\n")); err != nil || p.mode != stsModeNone {
		t.Fatalf("mode none: %+v %v", p, err)
	}
	for _, bad := range []string{
		"", "mode: enforce\nmx: a.example\nmax_age: 1\n", // no version
		"version: STSv2\nmode: enforce\nmx: a.example\nmax_age: 1\n",
		"version: STSv1\nmode: strict\nmx: a.example\nmax_age: 1\n",
		"version: STSv1\nmode: enforce\nmax_age: 1\n",                       // no mx
		"version: STSv1\nmode: enforce\nmx: a.example\n",                    // no max_age
		"version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 31557601\n", // too long
		"version: STSv1\nmode: enforce\nmx: a.example\nmax_age: -1\n",
		"version: STSv1\nmode: enforce\nmx: a..example\nmax_age: 1\n",
		"version: STSv1\nmode: enforce\nmx: *.*.example\nmax_age: 1\n",
		"version: STSv1\nmode enforce\n",
	} {
		if p, err := parseSTSPolicy([]byte(bad)); err == nil {
			t.Errorf("parsed %q as %+v", bad, p)
		}
	}
}

func TestParseSTSRecord(t *testing.T) {
	for txt, want := range map[string]string{
		"v=STSv1; id=20160831085700Z;": "20160831085700Z",
		"v=STSv1;id=abc":               "abc",
		"v=STSv1; ext=1; id=x1":        "x1",
		"v=STSv2; id=abc":              "",
		"v=STSv1":                      "",
		"v=STSv1; id=a-b":              "",
		"v=spf1 -all":                  "",
	} {
		if id, _ := parseSTSRecord(txt); id != want {
			t.Errorf("parseSTSRecord(%q) = %q, want %q", txt, id, want)
		}
	}
}

// The fetcher refuses redirects, other content types and large bodies.
func TestPolicyFetcherChecks(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ok":
			w.Header().Set("Content-Type", "text/plain")
			w.Write([]byte(enforcePolicy))
		case "/redirect":
			http.Redirect(w, r, "/ok", http.StatusFound)
		case "/html":
			w.Header().Set("Content-Type", "text/html")
			w.Write([]byte(enforcePolicy))
		case "/big":
			w.Header().Set("Content-Type", "text/plain")
			w.Write(bytes.Repeat([]byte("x"), stsMaxBody+1))
		}
	}))
	defer srv.Close()
	fetch := NewPolicyFetcher(srv.Client(), func(d string) string { return srv.URL + "/" + d })
	if b, err := fetch(context.Background(), "ok"); err != nil || string(b) != enforcePolicy {
		t.Fatalf("ok: %q %v", b, err)
	}
	for _, d := range []string{"redirect", "html", "big", "missing"} {
		if _, err := fetch(context.Background(), d); err == nil {
			t.Errorf("%s: fetched", d)
		}
	}
	// Certificates are verified: the default client does not trust httptest's CA.
	if _, err := NewPolicyFetcher(nil, func(string) string { return srv.URL + "/ok" })(context.Background(), "x"); err == nil {
		t.Error("untrusted HTTPS server accepted")
	}
}

func FuzzParseSTSPolicy(f *testing.F) {
	f.Add([]byte(enforcePolicy), "mx.remote.test")
	f.Add([]byte("version: STSv1\nmode: testing\nmx: *.example.net\nmax_age: 31557600\n"), "a.example.net")
	f.Add([]byte("version: STSv1\nmode: none\nmax_age: 0\n"), "")
	f.Add([]byte("mx: *.\n:\n\r\n"), "*.")
	f.Fuzz(func(t *testing.T, b []byte, host string) {
		p, err := parseSTSPolicy(b)
		if err != nil {
			return
		}
		if p.maxAge < 0 || p.maxAge > stsMaxAge*time.Second {
			t.Fatalf("max_age %v", p.maxAge)
		}
		if p.mode != stsEnforce && p.mode != stsTesting && p.mode != stsModeNone {
			t.Fatalf("mode %q", p.mode)
		}
		p.allows(host)
		parseSTSRecord(string(b))
	})
}
