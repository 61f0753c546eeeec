package httpserver

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"
)

type domains map[string]bool

func (d domains) IsLocalDomain(_ context.Context, dom string) (bool, error) {
	if dom == "broken.test" {
		return false, errors.New("store down")
	}
	return d[dom], nil
}

var testPorts = Ports{IMAPS: 993, IMAP: 143, POP3S: 995, POP3: 110, Submissions: 465, Submission: 587}

func baseConfig() Config {
	return Config{
		Hostname: "mail.example.com",
		Domains:  domains{"example.com": true},
		Ports:    testPorts,
		MTASTS:   MTASTSPolicy{Mode: ModeEnforce, MaxAge: 7 * 24 * time.Hour, MX: []string{"mail.example.com"}},
	}
}

// start runs a Server on 127.0.0.1:0 and returns its base URL.
func start(t *testing.T, cfg Config) string {
	t.Helper()
	s := New(cfg)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(l) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second) // a hang guard: its end fails the test
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		if err := <-done; err != nil {
			t.Errorf("Serve after Shutdown: %v", err)
		}
	})
	return "http://" + l.Addr().String()
}

func do(t *testing.T, method, url, host string, body io.Reader) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	if host != "" {
		req.Host = host
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

func TestHealthzMethods(t *testing.T) {
	t.Parallel()
	base := start(t, baseConfig())
	resp, body := do(t, "GET", base+"/healthz", "", nil)
	var st map[string]string
	if err := json.Unmarshal(body, &st); err != nil || resp.StatusCode != 200 || st["status"] != "ok" {
		t.Fatalf("GET /healthz: %d %q %v", resp.StatusCode, body, err)
	}
	resp, body = do(t, "HEAD", base+"/healthz", "", nil)
	if resp.StatusCode != 200 || len(body) != 0 {
		t.Errorf("HEAD /healthz: %d, %d body bytes", resp.StatusCode, len(body))
	}
	resp, _ = do(t, "OPTIONS", base+"/healthz", "", nil)
	if resp.StatusCode != http.StatusNoContent || resp.Header.Get("Allow") != "GET, HEAD, OPTIONS" {
		t.Errorf("OPTIONS /healthz: %d Allow=%q", resp.StatusCode, resp.Header.Get("Allow"))
	}
	resp, _ = do(t, "POST", base+"/healthz", "", strings.NewReader("x"))
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /healthz: %d", resp.StatusCode)
	}
	resp, _ = do(t, "GET", base+"/nothing-here", "", nil)
	if resp.StatusCode != 404 {
		t.Errorf("unknown path: %d", resp.StatusCode)
	}
}

func TestReadyz(t *testing.T) {
	t.Parallel()
	ok := func(context.Context) error { return nil }
	cfg := baseConfig()
	cfg.Ready = []Check{{"store", ok}, {"queue", ok}}
	base := start(t, cfg)
	var st ReadyStatus
	resp, body := do(t, "GET", base+"/readyz", "", nil)
	if err := json.Unmarshal(body, &st); err != nil || resp.StatusCode != 200 || st.Status != "ready" || !st.Checks["store"].OK || !st.Checks["queue"].OK {
		t.Fatalf("all ok: %d %s", resp.StatusCode, body)
	}

	// A failing check makes it not ready, without its error text. The
	// timeout here is a hang guard: each check runs against its own timer,
	// so under a short one a check that returns at once could still lose
	// to it on a loaded machine (its goroutine not yet run) and read
	// "timeout"; the hanging check has its short timeout below.
	cfg = baseConfig()
	cfg.ReadyTimeout = 30 * time.Second
	cfg.Ready = []Check{
		{"queue", func(context.Context) error { return errors.New("secret internal detail") }},
		{"listeners", ok},
	}
	st = notReady(t, "failing check", start(t, cfg))
	if c := st.Checks["queue"]; c.OK || c.Error != "failed" {
		t.Errorf("failing check: %+v", c)
	}
	if !st.Checks["listeners"].OK {
		t.Errorf("passing check: %+v", st.Checks["listeners"])
	}
	if strings.Contains(string(body), "secret") {
		t.Errorf("error text leaked: %s", body)
	}

	// A check that hangs is cut off at ReadyTimeout.
	cfg = baseConfig()
	cfg.ReadyTimeout = 50 * time.Millisecond
	cfg.Ready = []Check{
		{"store", func(ctx context.Context) error { <-make(chan struct{}); return nil }}, // hangs
	}
	st = notReady(t, "hanging check", start(t, cfg))
	if c := st.Checks["store"]; c.OK || c.Error != "timeout" {
		t.Errorf("hanging check: %+v", c)
	}
}

// notReady asks base's /readyz, which must answer 503 "not ready", and
// returns the checks' status.
func notReady(t *testing.T, what, base string) ReadyStatus {
	t.Helper()
	var st ReadyStatus
	resp, body := do(t, "GET", base+"/readyz", "", nil)
	if err := json.Unmarshal(body, &st); err != nil {
		t.Fatalf("%s: %v: %s", what, err, body)
	}
	if resp.StatusCode != http.StatusServiceUnavailable || st.Status != "not ready" {
		t.Fatalf("%s: %d %s", what, resp.StatusCode, body)
	}
	return st
}

func TestMetricsAccess(t *testing.T) {
	t.Parallel()
	metrics := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "mailroom_up 1\n") })
	cfg := baseConfig()
	cfg.MetricsHandler = metrics
	cfg.MetricsAllow = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/8"), netip.MustParsePrefix("::1/128")}
	base := start(t, cfg)
	if resp, body := do(t, "GET", base+"/metrics", "", nil); resp.StatusCode != 200 || string(body) != "mailroom_up 1\n" {
		t.Errorf("allowed network: %d %q", resp.StatusCode, body)
	}

	// Loopback not allowed: plain HTTP is refused even with the token;
	// HTTPS needs the token.
	cfg.MetricsAllow = []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}
	cfg.MetricsToken = "s3cret"
	base = start(t, cfg)
	req, _ := http.NewRequest("GET", base+"/metrics", nil)
	req.SetBasicAuth("prometheus", "s3cret")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("token over plain HTTP: %d, want 403", resp.StatusCode)
	}

	tlsBase, client := startTLS(t, cfg)
	for _, tc := range []struct {
		user, pw string
		set      bool
		want     int
	}{
		{want: http.StatusUnauthorized},
		{"prometheus", "wrong", true, http.StatusUnauthorized},
		{"prometheus", "s3cret", true, http.StatusOK},
		{"", "s3cret", true, http.StatusOK},
	} {
		req, _ := http.NewRequest("GET", tlsBase+"/metrics", nil)
		if tc.set {
			req.SetBasicAuth(tc.user, tc.pw)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("basic %q/%q: %d, want %d", tc.user, tc.pw, resp.StatusCode, tc.want)
		}
		if tc.want == http.StatusUnauthorized && !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Basic ") {
			t.Errorf("401 without a Basic challenge")
		}
	}
}

// parse decodes an XML body into v, failing the test when it does not.
func parse(t *testing.T, body []byte, v any) {
	t.Helper()
	if err := xml.Unmarshal(body, v); err != nil {
		t.Fatalf("response is not XML: %v\n%s", err, body)
	}
}

func TestThunderbirdAutoconfig(t *testing.T) {
	t.Parallel()
	base := start(t, baseConfig())
	resp, body := do(t, "GET", base+"/mail/config-v1.1.xml?emailaddress=alice%40Example.COM", "", nil)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/xml") {
		t.Fatalf("%d %s %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	var cfg tbConfig
	parse(t, body, &cfg)
	type srv struct {
		typ    string
		port   int
		socket string
	}
	var in, out []srv
	for _, s := range cfg.Provider.Incoming {
		in = append(in, srv{s.Type, s.Port, s.Socket})
		if s.Hostname != "mail.example.com" || s.Username != "alice@Example.COM" || s.Auth != "password-cleartext" {
			t.Errorf("incoming %+v", s)
		}
	}
	for _, s := range cfg.Provider.Outgoing {
		out = append(out, srv{s.Type, s.Port, s.Socket})
	}
	wantIn := []srv{{"imap", 993, "SSL"}, {"imap", 143, "STARTTLS"}, {"pop3", 995, "SSL"}, {"pop3", 110, "STARTTLS"}}
	wantOut := []srv{{"smtp", 465, "SSL"}, {"smtp", 587, "STARTTLS"}}
	if !equal(in, wantIn) || !equal(out, wantOut) || cfg.Version != "1.1" || cfg.Provider.Domain != "example.com" {
		t.Errorf("got in=%v out=%v version=%q domain=%q", in, out, cfg.Version, cfg.Provider.Domain)
	}

	// The well-known URL on autoconfig.<domain>, without an address.
	resp, body = do(t, "GET", base+"/.well-known/autoconfig/mail/config-v1.1.xml", "autoconfig.example.com:2080", nil)
	cfg = tbConfig{}
	parse(t, body, &cfg)
	if resp.StatusCode != 200 || len(cfg.Provider.Incoming) != 4 || cfg.Provider.Incoming[0].Username != "%EMAILADDRESS%" {
		t.Errorf("well-known: %d %s", resp.StatusCode, body)
	}

	for _, tc := range []struct {
		path, host string
		want       int
	}{
		{"/mail/config-v1.1.xml?emailaddress=bob%40other.test", "", 404},
		{"/.well-known/autoconfig/mail/config-v1.1.xml", "autoconfig.other.test", 404},
		{"/.well-known/autoconfig/mail/config-v1.1.xml", "example.com", 404},
		{"/mail/config-v1.1.xml", "", 404},
		{"/mail/config-v1.1.xml?emailaddress=no-at-sign", "", 400},
		{"/mail/config-v1.1.xml?emailaddress=a%40b%40", "", 400},
		{"/mail/config-v1.1.xml?emailaddress=%3Cx%3E%40example.com", "", 400},
		{"/mail/config-v1.1.xml?emailaddress=a%40example.com/../../etc", "", 400},
		{"/mail/config-v1.1.xml?emailaddress=" + strings.Repeat("a", 2000) + "%40example.com", "", http.StatusRequestURITooLong},
		{"/mail/config-v1.1.xml?emailaddress=alice%40broken.test", "", 500},
	} {
		resp, body := do(t, "GET", base+tc.path, tc.host, nil)
		if resp.StatusCode != tc.want {
			t.Errorf("GET %s (Host %q): %d, want %d: %s", tc.path, tc.host, resp.StatusCode, tc.want, body)
		}
		if strings.Contains(string(body), "store down") {
			t.Errorf("error text leaked: %s", body)
		}
	}
}

func equal[T comparable](a, b []T) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// Paths that climb out of the endpoints never reach anything but 404 or
// a redirect to a cleaned path (the mux's), never a file.
func TestPathTraversal(t *testing.T) {
	t.Parallel()
	base := start(t, baseConfig())
	for _, p := range []string{
		"/.well-known/autoconfig/mail/../../../../etc/passwd",
		"/apple/../../etc/passwd",
		"/%2e%2e/%2e%2e/etc/passwd",
		"/.well-known/mta-sts.txt/../../etc/passwd",
		"/mail/config-v1.1.xml/..%2f..%2fetc%2fpasswd",
	} {
		req, err := http.NewRequest("GET", base+"/", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.URL.Opaque = p // sent as is, not cleaned by the client
		c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		switch resp.StatusCode {
		case http.StatusNotFound:
		case http.StatusMovedPermanently, http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
			loc := resp.Header.Get("Location")
			if strings.Contains(loc, "..") || !strings.HasPrefix(loc, "/") {
				t.Errorf("%s: redirect to %q", p, loc)
			} else if resp, _ := do(t, "GET", base+loc, "", nil); resp.StatusCode != http.StatusNotFound {
				t.Errorf("%s: redirect to %q, then %d", p, loc, resp.StatusCode)
			}
		default:
			t.Errorf("%s: %d %s", p, resp.StatusCode, body)
		}
		if strings.Contains(string(body), "root:") {
			t.Errorf("%s: served a file", p)
		}
	}
}

const adBody = `<?xml version="1.0" encoding="utf-8"?>
<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006">
  <Request>
    <EMailAddress>%s</EMailAddress>
    <AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a</AcceptableResponseSchema>
  </Request>
</Autodiscover>`

func TestAutodiscover(t *testing.T) {
	t.Parallel()
	base := start(t, baseConfig())
	url := base + "/autodiscover/autodiscover.xml"
	resp, body := do(t, "POST", url, "", strings.NewReader(strings.Replace(adBody, "%s", "alice@example.com", 1)))
	if resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	var r adResponse
	parse(t, body, &r)
	if r.XMLName.Space != adResponseNS || r.Response.Account.Action != "settings" || r.Response.Account.Type != "email" {
		t.Errorf("response: %s", body)
	}
	var got []string
	for _, p := range r.Response.Account.Protocol {
		got = append(got, p.Type+"/"+itoa(p.Port)+"/"+p.Encryption)
		if p.Server != "mail.example.com" || p.LoginName != "alice@example.com" || p.AuthRequired != "on" {
			t.Errorf("protocol %+v", p)
		}
	}
	want := []string{"IMAP/993/SSL", "IMAP/143/TLS", "POP3/995/SSL", "POP3/110/TLS", "SMTP/465/SSL", "SMTP/587/TLS"}
	if !equal(got, want) {
		t.Errorf("protocols %v, want %v", got, want)
	}
	// Outlook also capitalises the path.
	if resp, _ := do(t, "POST", base+"/Autodiscover/Autodiscover.xml", "", strings.NewReader(strings.Replace(adBody, "%s", "alice@example.com", 1))); resp.StatusCode != 200 {
		t.Errorf("capitalised path: %d", resp.StatusCode)
	}

	huge := strings.Replace(adBody, "%s", "alice@example.com", 1) + strings.Repeat("<!-- padding -->", 1<<20/16)
	for _, tc := range []struct {
		name, method, body string
		want               int
	}{
		{"malformed", "POST", "<Autodiscover><Request><EMailAddress>alice@example.com", 400},
		{"not xml", "POST", "hello", 400},
		{"empty", "POST", "", 400},
		{"wrong namespace", "POST", `<Autodiscover xmlns="urn:x"><Request><EMailAddress>alice@example.com</EMailAddress></Request></Autodiscover>`, 400},
		{"bad address", "POST", strings.Replace(adBody, "%s", "alice", 1), 400},
		{"unknown domain", "POST", strings.Replace(adBody, "%s", "alice@other.test", 1), 404},
		{"1 MB body", "POST", huge, http.StatusRequestEntityTooLarge},
		{"GET", "GET", "", 405},
	} {
		var rd io.Reader
		if tc.body != "" {
			rd = strings.NewReader(tc.body)
		}
		resp, body := do(t, tc.method, url, "", rd)
		if resp.StatusCode != tc.want {
			t.Errorf("%s: %d, want %d: %.200s", tc.name, resp.StatusCode, tc.want, body)
		}
	}
	resp, _ = do(t, "OPTIONS", url, "", nil)
	if resp.StatusCode != 204 || resp.Header.Get("Allow") != "POST, OPTIONS" {
		t.Errorf("OPTIONS: %d %q", resp.StatusCode, resp.Header.Get("Allow"))
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

// plistDict decodes the top-level dict of a plist into key → raw element
// (values of nested dicts under PayloadContent are decoded too).
type plistDoc struct {
	Dict struct {
		Items []plistItem `xml:",any"`
	} `xml:"dict"`
}

type plistItem struct {
	XMLName xml.Name
	Text    string      `xml:",chardata"`
	Items   []plistItem `xml:",any"`
}

func plistMap(items []plistItem) map[string]plistItem {
	m := map[string]plistItem{}
	for i := 0; i+1 < len(items); i += 2 {
		m[items[i].Text] = items[i+1]
	}
	return m
}

func TestAppleMobileconfig(t *testing.T) {
	t.Parallel()
	base := start(t, baseConfig())
	resp, body := do(t, "GET", base+"/apple/mailroom.mobileconfig?email=alice%40example.com", "", nil)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/x-apple-aspen-config" {
		t.Fatalf("%d %s %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	var doc plistDoc
	parse(t, body, &doc)
	top := plistMap(doc.Dict.Items)
	if top["PayloadType"].Text != "Configuration" || top["PayloadVersion"].Text != "1" {
		t.Errorf("top: %s", body)
	}
	arr := top["PayloadContent"]
	if arr.XMLName.Local != "array" || len(arr.Items) != 1 {
		t.Fatalf("PayloadContent: %+v", arr)
	}
	acct := plistMap(arr.Items[0].Items)
	for k, want := range map[string]string{
		"PayloadType":                  "com.apple.mail.managed",
		"EmailAddress":                 "alice@example.com",
		"IncomingMailServerHostName":   "mail.example.com",
		"IncomingMailServerPortNumber": "993",
		"OutgoingMailServerPortNumber": "465",
		"IncomingMailServerUsername":   "alice@example.com",
		"EmailAccountType":             "EmailTypeIMAP",
	} {
		if got := acct[k].Text; got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	if acct["IncomingMailServerUseSSL"].XMLName.Local != "true" {
		t.Errorf("IncomingMailServerUseSSL not true")
	}
	// Same address, same profile UUIDs (a re-install replaces it).
	_, body2 := do(t, "GET", base+"/apple/mailroom.mobileconfig?email=alice%40example.com", "", nil)
	if string(body) != string(body2) {
		t.Errorf("profile not stable")
	}
	// Markup in the address never reaches the plist unescaped.
	for _, tc := range []struct {
		q    string
		want int
	}{
		{"", 400},
		{"?email=", 400},
		{"?email=%3Cstring%3E%40example.com", 400},
		{"?email=bob%40other.test", 404},
		{"?email=bob%40exa%2Fmple.com", 400},
	} {
		resp, body := do(t, "GET", base+"/apple/mailroom.mobileconfig"+tc.q, "", nil)
		if resp.StatusCode != tc.want {
			t.Errorf("%q: %d, want %d: %s", tc.q, resp.StatusCode, tc.want, body)
		}
	}
	// An address with characters XML must escape is escaped.
	resp, body = do(t, "GET", base+"/apple/mailroom.mobileconfig?email=a%26b%40example.com", "", nil)
	doc = plistDoc{}
	parse(t, body, &doc)
	acct = plistMap(plistMap(doc.Dict.Items)["PayloadContent"].Items[0].Items)
	if resp.StatusCode != 200 || acct["EmailAddress"].Text != "a&b@example.com" {
		t.Errorf("escaped address: %d %q", resp.StatusCode, acct["EmailAddress"].Text)
	}
}

func TestMTASTSPolicy(t *testing.T) {
	t.Parallel()
	cfg := baseConfig()
	base := start(t, cfg)
	resp, body := do(t, "GET", base+"/.well-known/mta-sts.txt", "MTA-STS.example.com", nil)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	fields := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSuffix(string(body), "\r\n"), "\r\n") {
		k, v, ok := strings.Cut(line, ": ")
		if !ok {
			t.Fatalf("bad policy line %q", line)
		}
		fields[k] = append(fields[k], v)
	}
	if fields["version"][0] != "STSv1" || fields["mode"][0] != "enforce" || !equal(fields["mx"], []string{"mail.example.com"}) || fields["max_age"][0] != "604800" {
		t.Errorf("policy %q", body)
	}
	for _, host := range []string{"mta-sts.other.test", "example.com", "", "mta-sts.", "mta-sts.broken.test"} {
		resp, _ := do(t, "GET", base+"/.well-known/mta-sts.txt", host, nil)
		if want := 404; host == "mta-sts.broken.test" {
			if resp.StatusCode != 500 {
				t.Errorf("Host %q: %d, want 500", host, resp.StatusCode)
			}
		} else if resp.StatusCode != want {
			t.Errorf("Host %q: %d, want %d", host, resp.StatusCode, want)
		}
	}

	id := cfg.MTASTS.ID()
	if len(id) < 1 || len(id) > 32 || strings.Trim(id, "abcdefghijklmnopqrstuvwxyz0123456789") != "" {
		t.Errorf("id %q is not 1-32 alphanumerics", id)
	}
	if id != cfg.MTASTS.ID() {
		t.Errorf("id not stable")
	}
	changed := cfg.MTASTS
	changed.Mode = ModeTesting
	if changed.ID() == id {
		t.Errorf("id did not change with the mode")
	}
	changed = cfg.MTASTS
	changed.MaxAge = time.Hour
	if changed.ID() == id {
		t.Errorf("id did not change with max_age")
	}
}

func TestRequestLimits(t *testing.T) {
	t.Parallel()
	base := start(t, baseConfig())
	req, _ := http.NewRequest("GET", base+"/healthz", nil)
	req.Header.Set("X-Big", strings.Repeat("a", 64<<10))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("64 KiB header: %d", resp.StatusCode)
	}
}

// The same Server over TLS; the handshake failure of a plaintext client
// is counted.
type countMetrics struct{ n chan string }

func (c countMetrics) TLSHandshakeFailed(p string) { c.n <- p }

func TestServeTLSHandshakeFailure(t *testing.T) {
	t.Parallel()
	cfg := baseConfig()
	m := countMetrics{make(chan string, 4)}
	cfg.Metrics = m
	base, client := startTLS(t, cfg)
	resp, err := client.Get(base + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.TLS == nil || resp.ProtoMajor != 1 {
		t.Errorf("over TLS: %d %v proto %s", resp.StatusCode, resp.TLS != nil, resp.Proto)
	}
	nc, err := net.Dial("tcp", strings.TrimPrefix(base, "https://"))
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(nc, "GET / HTTP/1.0\r\n\r\n")
	io.ReadAll(nc)
	nc.Close()
	select {
	case p := <-m.n:
		if p != "https" {
			t.Errorf("protocol %q", p)
		}
	case <-time.After(30 * time.Second):
		t.Errorf("handshake failure not counted")
	}
}

// startTLS runs cfg over TLS with a fresh self-signed certificate and
// returns the URL and a client that trusts it.
func startTLS(t *testing.T, cfg Config) (string, *http.Client) {
	t.Helper()
	cert, pool := testCert(t)
	cfg.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"h2", "http/1.1"}}
	s := New(cfg)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go s.ServeTLS(l)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s.Shutdown(ctx)
	})
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: "mail.example.com"}, ForceAttemptHTTP2: true}
	t.Cleanup(tr.CloseIdleConnections)
	return "https://" + l.Addr().String(), &http.Client{Transport: tr}
}

// /debug/pprof/ is off by default; on, only metrics_allow networks get it,
// never by the metrics token.
func TestPprofAccess(t *testing.T) {
	t.Parallel()
	cfg := baseConfig()
	cfg.MetricsAllow = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/8")}
	base := start(t, cfg)
	if resp, _ := do(t, "GET", base+"/debug/pprof/", "", nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("pprof off: %d, want 404", resp.StatusCode)
	}
	cfg.Pprof = true
	base = start(t, cfg)
	resp, body := do(t, "GET", base+"/debug/pprof/profile?seconds=1", "", nil)
	if resp.StatusCode != http.StatusOK || len(body) < 2 || body[0] != 0x1f || body[1] != 0x8b {
		t.Errorf("CPU profile: %d, %d bytes (want gzip)", resp.StatusCode, len(body))
	}
	// A runtime trace starts with its magic "go 1.NN trace".
	if resp, body := do(t, "GET", base+"/debug/pprof/trace?seconds=0.1", "", nil); resp.StatusCode != http.StatusOK || !strings.HasPrefix(string(body), "go 1.") {
		t.Errorf("trace: %d, %.20q", resp.StatusCode, body)
	}
	if resp, body := do(t, "GET", base+"/debug/pprof/heap?debug=1", "", nil); resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "heap profile") {
		t.Errorf("heap profile: %d", resp.StatusCode)
	}
	cfg.MetricsAllow = []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}
	cfg.MetricsToken = "s3cret-token-long-enough"
	base = start(t, cfg)
	if resp, _ := do(t, "GET", base+"/debug/pprof/", "", nil); resp.StatusCode != http.StatusForbidden {
		t.Errorf("pprof from a network not allowed: %d, want 403", resp.StatusCode)
	}
}
