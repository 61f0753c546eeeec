package queue

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// recordingMX is a fake MX that records every command line of every
// connection with whether it arrived over TLS, so that a test can count
// what the client said. It offers STARTTLS (with a real handshake),
// PIPELINING and AUTH PLAIN as configured.
type recordingMX struct {
	addr       string
	tlsCfg     *tls.Config // STARTTLS offered when set
	pipelining bool
	authUser   string // AUTH PLAIN offered when set; password "pw"
	noEHLO     bool   // answer EHLO with 502 (an RFC 821 server)
	inject     bool   // a plaintext reply right behind STARTTLS's 220

	mu    sync.Mutex
	conns [][]mxCmd
}

type mxCmd struct {
	verb, line string
	tls        bool
}

func startRecordingMX(t *testing.T, m *recordingMX) *recordingMX {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	m.addr = l.Addr().String()
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			m.mu.Lock()
			m.conns = append(m.conns, nil)
			i := len(m.conns) - 1
			m.mu.Unlock()
			go m.serve(c, i)
		}
	}()
	return m
}

func (m *recordingMX) port() string { _, p, _ := net.SplitHostPort(m.addr); return p }

func (m *recordingMX) record(i int, line string, tls bool) string {
	verb, _, _ := strings.Cut(line, " ")
	verb = strings.ToUpper(verb)
	m.mu.Lock()
	m.conns[i] = append(m.conns[i], mxCmd{verb: verb, line: line, tls: tls})
	m.mu.Unlock()
	return verb
}

func (m *recordingMX) snapshot() [][]mxCmd {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([][]mxCmd, len(m.conns))
	for i, c := range m.conns {
		out[i] = append([]mxCmd(nil), c...)
	}
	return out
}

func (m *recordingMX) serve(nc net.Conn, i int) {
	defer func() { nc.Close() }()
	nc.SetDeadline(time.Now().Add(30 * time.Second))
	br := bufio.NewReader(nc)
	inTLS := false
	reply := func(s string) { fmt.Fprintf(nc, "%s\r\n", s) }
	reply("220 mx.test ESMTP")
	for {
		l, err := br.ReadString('\n')
		if err != nil {
			return
		}
		l = strings.TrimRight(l, "\r\n")
		switch m.record(i, l, inTLS) {
		case "EHLO":
			if m.noEHLO {
				reply("502 5.5.1 what")
				continue
			}
			ext := []string{"250-mx.test", "250-8BITMIME", "250-SIZE 1000000"}
			if m.pipelining {
				ext = append(ext, "250-PIPELINING")
			}
			if m.tlsCfg != nil && !inTLS {
				ext = append(ext, "250-STARTTLS")
			}
			if m.authUser != "" {
				ext = append(ext, "250-AUTH PLAIN")
			}
			reply(strings.Join(append(ext, "250 ENHANCEDSTATUSCODES"), "\r\n"))
		case "STARTTLS":
			if m.inject {
				reply("220 2.0.0 go ahead\r\n250 2.0.0 injected")
				continue
			}
			reply("220 2.0.0 go ahead")
			tc := tls.Server(nc, m.tlsCfg)
			if err := tc.Handshake(); err != nil {
				return
			}
			nc, br, inTLS = tc, bufio.NewReader(tc), true
			reply = func(s string) { fmt.Fprintf(nc, "%s\r\n", s) }
		case "AUTH":
			want := "AUTH PLAIN " + base64.StdEncoding.EncodeToString([]byte("\x00"+m.authUser+"\x00pw"))
			if l == want {
				reply("235 2.7.0 ok")
			} else {
				reply("535 5.7.8 bad")
			}
		case "HELO":
			reply("250 mx.test")
		case "MAIL", "RCPT", "RSET":
			reply("250 2.0.0 ok")
		case "DATA":
			reply("354 go ahead")
			for {
				l, err := br.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
			}
			reply("250 2.0.0 queued")
		case "QUIT":
			reply("221 2.0.0 bye")
			return
		default:
			reply("502 5.5.1 unknown")
		}
	}
}

// Exactly one EHLO per outbound session: one in plaintext, or, with
// STARTTLS, one before it and the one RFC 3207 §4.2 requires after it,
// whether the server pipelines or not and with AUTH to a relay host.
// Every command after STARTTLS goes over TLS.
func TestOneEHLOPerSession(t *testing.T) {
	for _, tc := range []struct {
		name               string
		tls, pipe, relay   bool
		ehloPlain, ehloTLS int
	}{
		{"plain", false, false, false, 1, 0},
		{"plain pipelining", false, true, false, 1, 0},
		{"starttls", true, false, false, 1, 1},
		{"starttls pipelining", true, true, false, 1, 1},
		{"relay auth", true, true, true, 1, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m := &recordingMX{pipelining: tc.pipe}
			if tc.tls {
				m.tlsCfg = selfSigned(t)
			}
			cfg := fastConfig(nil, newTestResolver(), nil)
			cfg.CommandTimeout = 30 * time.Second // a hang guard: every reply here comes at once
			if tc.relay {
				m.authUser = "relayuser"
				cfg.RelayUser, cfg.RelayPassword = "relayuser", "pw"
			}
			startRecordingMX(t, m)
			if tc.relay {
				cfg.RelayHost = m.addr
			}
			q := New(cfg)
			// A relay's credentials travel in its hop (route).
			h := hop{host: "mx.remote.test", port: m.port(), user: cfg.RelayUser, password: cfg.RelayPassword}
			outs, err := q.transaction(context.Background(), h, "127.0.0.1",
				"alice@example.org", []string{"a@remote.test", "b@remote.test"}, []byte(pipeMsg))
			if err != nil {
				t.Fatal(err)
			}
			for _, o := range outs {
				if o.err != nil {
					t.Fatalf("outcome %+v, want delivered", o)
				}
			}
			conns := m.snapshot()
			if len(conns) != 1 {
				t.Fatalf("%d connections, want 1", len(conns))
			}
			var plain, enc, helo int
			var verbs []string
			sawTLS := false
			for _, c := range conns[0] {
				verbs = append(verbs, c.verb)
				switch {
				case c.verb == "HELO":
					helo++
				case c.verb == "EHLO" && c.tls:
					enc++
				case c.verb == "EHLO":
					plain++
				}
				if sawTLS && !c.tls {
					t.Errorf("%q in plaintext after STARTTLS", c.line)
				}
				sawTLS = sawTLS || c.verb == "STARTTLS"
			}
			if plain != tc.ehloPlain || enc != tc.ehloTLS || helo != 0 {
				t.Errorf("commands %q: %d EHLO in plaintext, %d over TLS, %d HELO; want %d, %d, 0",
					verbs, plain, enc, helo, tc.ehloPlain, tc.ehloTLS)
			}
			want := "EHLO MAIL RCPT RCPT DATA QUIT"
			if tc.tls {
				want = "EHLO STARTTLS EHLO MAIL RCPT RCPT DATA QUIT"
			}
			if tc.relay {
				want = "EHLO STARTTLS EHLO AUTH MAIL RCPT RCPT DATA QUIT"
			}
			if got := strings.Join(verbs, " "); got != want {
				t.Errorf("commands %q, want %q", got, want)
			}
			for _, c := range conns[0] {
				if c.verb == "MAIL" && c.line != "MAIL FROM:<alice@example.org> BODY=8BITMIME SIZE="+fmt.Sprint(len(pipeMsg)) {
					t.Errorf("MAIL line %q: want BODY=8BITMIME and SIZE", c.line)
				}
			}
		})
	}
}

// A server that does not know EHLO is greeted with HELO instead, once,
// and gets the message in lock-step.
func TestHELOFallback(t *testing.T) {
	t.Parallel()
	m := startRecordingMX(t, &recordingMX{noEHLO: true})
	outs, err := sinkQueue(t).transaction(context.Background(), hop{host: "mx.remote.test", port: m.port()}, "127.0.0.1",
		"alice@example.org", []string{"a@remote.test"}, []byte(pipeMsg))
	if err != nil || outs[0].err != nil {
		t.Fatalf("err %v, outcomes %+v", err, outs)
	}
	var verbs []string
	for _, c := range m.snapshot()[0] {
		verbs = append(verbs, c.verb)
	}
	if got, want := strings.Join(verbs, " "), "EHLO HELO MAIL RCPT DATA QUIT"; got != want {
		t.Errorf("commands %q, want %q", got, want)
	}
	for _, c := range m.snapshot()[0] {
		if c.verb == "MAIL" && c.line != "MAIL FROM:<alice@example.org>" {
			t.Errorf("MAIL line %q: no parameters without EHLO", c.line)
		}
	}
}

// A reply that arrives glued to STARTTLS's 220 was injected in plaintext
// (CVE-2011-0411 style): the client gives up on this server before the
// handshake and sends no mail command; a wrong relay password gets the
// server's 535 and no mail command either.
func TestSTARTTLSInjectionAndAuthFailure(t *testing.T) {
	t.Parallel()
	m := startRecordingMX(t, &recordingMX{tlsCfg: selfSigned(t), inject: true})
	_, err := sinkQueue(t).transaction(context.Background(), hop{host: "mx.remote.test", port: m.port()}, "127.0.0.1",
		"alice@example.org", []string{"a@remote.test"}, []byte(pipeMsg))
	if err == nil || isPermanent(err) || !strings.Contains(err.Error(), "data after STARTTLS reply") {
		t.Errorf("err %v, want a temporary error naming the injection", err)
	}
	for _, c := range m.snapshot()[0] {
		if c.tls || c.verb == "MAIL" {
			t.Errorf("command %q after the injected reply", c.line)
		}
	}

	m = &recordingMX{tlsCfg: selfSigned(t), authUser: "relayuser"}
	startRecordingMX(t, m)
	cfg := fastConfig(nil, newTestResolver(), nil)
	cfg.CommandTimeout = 30 * time.Second // a hang guard: every reply here comes at once
	cfg.RelayHost, cfg.RelayUser, cfg.RelayPassword = m.addr, "relayuser", "wrong"
	_, err = New(cfg).transaction(context.Background(), hop{host: "relay.test", port: m.port(), user: "relayuser", password: "wrong"}, "127.0.0.1",
		"alice@example.org", []string{"a@remote.test"}, []byte(pipeMsg))
	if codeOf(err) != 535 || !isPermanent(err) {
		t.Errorf("err %v, want the relay's 535", err)
	}
	var verbs []string
	for _, c := range m.snapshot()[0] {
		verbs = append(verbs, c.verb)
	}
	if got, want := strings.Join(verbs, " "), "EHLO STARTTLS EHLO AUTH QUIT"; got != want {
		t.Errorf("commands %q, want %q", got, want)
	}
}
