package main

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// imapSession logs in over IMAP and runs NOOP.
func imapSession(t *testing.T, addr, user, pass string) {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(30 * time.Second))
	br := bufio.NewReader(nc)
	if l, _ := br.ReadString('\n'); !strings.HasPrefix(l, "* OK") {
		t.Fatalf("imap greeting %q", l)
	}
	for _, c := range []string{"a LOGIN " + user + " " + pass, "b NOOP", "c LOGOUT"} {
		fmt.Fprintf(nc, "%s\r\n", c)
		tag := c[:1] + " "
		for {
			l, err := br.ReadString('\n')
			if err != nil {
				t.Fatalf("%s: %v", c, err)
			}
			if strings.HasPrefix(l, tag) {
				if !strings.HasPrefix(l, tag+"OK") {
					t.Fatalf("%s: %q", c, l)
				}
				break
			}
		}
	}
}

// scrapeMetrics reads /metrics and flattens it to name{k=v,...} → value
// (labels sorted; histograms as _count).
func scrapeMetrics(t *testing.T, c *http.Client, url string) map[string]float64 {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d", url, resp.StatusCode)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("exposition: %v", err)
	}
	out := map[string]float64{}
	for name, mf := range mfs {
		for _, m := range mf.GetMetric() {
			var ls []string
			for _, l := range m.GetLabel() {
				ls = append(ls, l.GetName()+"="+l.GetValue())
			}
			sort.Strings(ls)
			key := name
			if len(ls) > 0 {
				key += "{" + strings.Join(ls, ",") + "}"
			}
			switch {
			case m.Counter != nil:
				out[key] = m.Counter.GetValue()
			case m.Gauge != nil:
				out[key] = m.Gauge.GetValue()
			case m.Histogram != nil:
				out[key+"_count"] = float64(m.Histogram.GetSampleCount())
			}
		}
	}
	return out
}

// TestServeHTTPEndpoints: `serve` runs the HTTP(S) listener with health,
// readiness, metrics fed by real SMTP/POP3/IMAP traffic, autoconfig for
// the local domains and the MTA-STS policy over HTTPS with the mail
// listeners' certificate.
func TestServeHTTPEndpoints(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if _, err := runCLI(t, dir, "pw\n", "user", "add", "alice@example.test", "--password-stdin", "--data", "d"); err != nil {
		t.Fatal(err)
	}
	p := startServe(t, dir, append([]string{"--data", "d", "--hostname", "mail.example.test"}, loopbackPorts...)...)
	base := "http://" + p.addr(t, "http")

	resp, err := http.Get(base + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("/healthz: %d", resp.StatusCode)
	}
	var ready struct {
		Status string
		Checks map[string]struct{ OK bool }
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(base + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		err = json.NewDecoder(resp.Body).Decode(&ready)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode == 200 || time.Now().After(deadline) {
			if resp.StatusCode != 200 || ready.Status != "ready" {
				t.Fatalf("/readyz: %d %+v", resp.StatusCode, ready)
			}
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, c := range []string{"store", "listeners", "queue"} {
		if !ready.Checks[c].OK {
			t.Errorf("readyz check %s: %+v", c, ready.Checks)
		}
	}

	// Traffic the metrics must show.
	pop := p.addr(t, "pop3")
	if st := pop3Login(t, pop, "alice@example.test", "wrong"); !strings.HasPrefix(st, "-ERR") {
		t.Fatalf("wrong password accepted: %q", st)
	}
	if st := pop3Login(t, pop, "alice@example.test", "pw"); !strings.HasPrefix(st, "+OK") {
		t.Fatalf("pop3 login: %q", st)
	}
	imapSession(t, p.addr(t, "imap"), "alice@example.test", "pw")
	msg := []byte("From: bob@example.net\r\nTo: alice@example.test\r\nSubject: hi\r\nDate: Mon, 1 Jan 2024 00:00:00 +0000\r\nMessage-ID: <1@example.net>\r\n\r\nhello\r\n")
	if err := sendMailNoTLS(p.addr(t, "smtp"), "bob@example.net", []string{"alice@example.test"}, msg); err != nil {
		t.Fatal(err)
	}

	m := scrapeMetrics(t, http.DefaultClient, base+"/metrics")
	for k, want := range map[string]float64{
		"mailroom_logins_total{mechanism=password,outcome=failed,protocol=pop3}":    1,
		"mailroom_logins_total{mechanism=password,outcome=succeeded,protocol=pop3}": 1,
		"mailroom_logins_total{mechanism=password,outcome=succeeded,protocol=imap}": 1,
		"mailroom_connections_accepted_total{listener=pop3}":                        2,
		"mailroom_connections_accepted_total{listener=imap}":                        1,
		"mailroom_connections_refused_total{listener=smtp}":                         0,
		"mailroom_imap_commands_total{command=NOOP,status=ok}":                      1,
		"mailroom_imap_commands_total{command=LOGIN,status=ok}":                     1,
		"mailroom_imap_command_duration_seconds{command=NOOP}_count":                1,
		"mailroom_smtp_transactions_total{class=2xx,listener=mx,outcome=accepted}":  1,
		"mailroom_messages_delivered_total":                                         1,
		"mailroom_delivery_duration_seconds_count":                                  1,
		"mailroom_queue_depth":        0,
		"mailroom_imap_idle_sessions": 0,
	} {
		if got, ok := m[k]; !ok || got != want {
			t.Errorf("%s = %v (present %v), want %v", k, got, ok, want)
		}
	}
	// The SQLite store reports its full-text backlog.
	if _, ok := m["mailroom_text_index_pending"]; !ok {
		t.Error("no mailroom_text_index_pending")
	}
	// The delivery (at least) went through the SQLite writer.
	if m["mailroom_store_write_duration_seconds_count"] < 1 || m["mailroom_store_commit_batch_size_count"] < 1 {
		t.Errorf("store writes %v, batches %v", m["mailroom_store_write_duration_seconds_count"], m["mailroom_store_commit_batch_size_count"])
	}
	if m["mailroom_messages_delivered_bytes_total"] < float64(len(msg)) {
		t.Errorf("delivered bytes %v", m["mailroom_messages_delivered_bytes_total"])
	}
	found := false
	for k := range m {
		if strings.HasPrefix(k, "mailroom_build_info{") {
			found = true
		}
		if strings.Contains(k, "alice") || strings.Contains(k, "127.0.0.1") {
			t.Errorf("per-user or per-IP label: %s", k)
		}
	}
	if !found {
		t.Error("no mailroom_build_info")
	}

	// Autoconfig answers for the account's domain only.
	for q, want := range map[string]int{"alice%40example.test": 200, "x%40other.test": 404} {
		resp, err := http.Get(base + "/mail/config-v1.1.xml?emailaddress=" + q)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("autoconfig %s: %d, want %d", q, resp.StatusCode, want)
		}
	}

	// MTA-STS over HTTPS, certificate of the mail listeners.
	pem, err := os.ReadFile(filepath.Join(dir, "d", "tls", "selfsigned.crt"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: "mail.example.test"}}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr}
	req, _ := http.NewRequest("GET", "https://"+p.addr(t, "https")+"/.well-known/mta-sts.txt", nil)
	req.Host = "mta-sts.example.test"
	resp, err = hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	want := "version: STSv1\r\nmode: testing\r\nmx: mail.example.test\r\nmax_age: 604800\r\n"
	if resp.StatusCode != 200 || string(body) != want {
		t.Errorf("mta-sts.txt: %d %q, want %q", resp.StatusCode, body, want)
	}
	if m := scrapeMetrics(t, hc, "https://"+p.addr(t, "https")+"/metrics"); m["mailroom_connections_accepted_total{listener=https}"] < 1 {
		t.Errorf("https listener not counted: %v", m["mailroom_connections_accepted_total{listener=https}"])
	}
}
