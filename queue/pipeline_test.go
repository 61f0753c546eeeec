package queue

import (
	"bufio"
	"cmp"
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// scriptSink is a hand-written SMTP server that records how commands
// arrive. With PIPELINING it answers nothing after MAIL FROM until DATA
// has arrived, so a lock-step client would stall and time out.
type scriptSink struct {
	addr       string
	pipelining bool
	brokenTLS  bool              // offer STARTTLS, then break the handshake
	rcpt       map[string]string // RCPT address -> reply ("250 ok" by default)
	data       string            // reply to DATA ("354 go ahead" by default)
	mail       string            // reply to MAIL FROM ("250 sender ok" by default)

	mu    sync.Mutex
	conns []*sinkConn
}

type sinkConn struct {
	cmds      []string // command lines in order
	body      []string // lines of the message (dot-stuffing kept)
	batched   bool     // MAIL .. DATA all arrived before the reply to MAIL
	earlyData bool     // lock-step: bytes waiting right after MAIL FROM
	tls       bool     // STARTTLS was attempted
}

func startScriptSink(t *testing.T, s *scriptSink) *scriptSink {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.addr = l.Addr().String()
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			sc := &sinkConn{}
			s.mu.Lock()
			s.conns = append(s.conns, sc)
			s.mu.Unlock()
			go s.serve(c, sc)
		}
	}()
	return s
}

func (s *scriptSink) port() string { _, p, _ := net.SplitHostPort(s.addr); return p }

func (s *scriptSink) snapshot() []sinkConn {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]sinkConn, len(s.conns))
	for i, c := range s.conns {
		out[i] = *c
		out[i].cmds = append([]string(nil), c.cmds...)
		out[i].body = append([]string(nil), c.body...)
	}
	return out
}

func (s *scriptSink) serve(c net.Conn, sc *sinkConn) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	br := bufio.NewReader(c)
	var pending []string // replies held back while pipelined commands arrive
	reply := func(r string) { fmt.Fprintf(c, "%s\r\n", r) }
	readLine := func() (string, bool) {
		l, err := br.ReadString('\n')
		if err != nil {
			return "", false
		}
		l = strings.TrimRight(l, "\r\n")
		s.mu.Lock()
		sc.cmds = append(sc.cmds, l)
		s.mu.Unlock()
		return l, true
	}
	reply("220 sink.test ESMTP")
	for {
		l, ok := readLine()
		if !ok {
			return
		}
		verb, arg, _ := strings.Cut(l, " ")
		switch strings.ToUpper(verb) {
		case "EHLO":
			ext := []string{"250-sink.test"}
			if s.pipelining {
				ext = append(ext, "250-PIPELINING")
			}
			if s.brokenTLS {
				ext = append(ext, "250-STARTTLS")
			}
			reply(strings.Join(append(ext, "250 8BITMIME"), "\r\n"))
		case "STARTTLS":
			s.mu.Lock()
			sc.tls = true
			s.mu.Unlock()
			reply("220 go ahead")
			buf := make([]byte, 512)
			br.Read(buf) // the ClientHello
			reply("this is not a TLS server hello")
			return
		case "MAIL":
			if !s.pipelining {
				s.mu.Lock()
				sc.earlyData = br.Buffered() > 0
				s.mu.Unlock()
				reply("250 sender ok")
				continue
			}
			pending = append(pending, cmp.Or(s.mail, "250 sender ok"))
			for { // hold every reply until DATA has arrived
				l, ok := readLine()
				if !ok {
					return
				}
				verb, arg, _ := strings.Cut(l, " ")
				if strings.EqualFold(verb, "DATA") {
					break
				}
				pending = append(pending, s.rcptReply(arg))
			}
			s.mu.Lock()
			sc.batched = true
			s.mu.Unlock()
			for _, r := range pending {
				reply(r)
			}
			pending = nil
			if !s.dataBody(c, br, sc, readLine) {
				return
			}
		case "RCPT":
			reply(s.rcptReply(arg))
		case "DATA":
			if !s.dataBody(c, br, sc, readLine) {
				return
			}
		case "RSET":
			reply("250 reset")
		case "QUIT":
			reply("221 bye")
			return
		default:
			reply("502 unknown")
		}
	}
}

func (s *scriptSink) rcptReply(arg string) string {
	addr := strings.Trim(strings.TrimPrefix(strings.ToUpper(arg[:min(3, len(arg))]), "TO:")+arg[min(3, len(arg)):], "<>")
	if r, ok := s.rcpt[addr]; ok {
		return r
	}
	return "250 recipient ok"
}

// dataBody answers DATA and, after 354, reads the message up to the dot.
func (s *scriptSink) dataBody(c net.Conn, br *bufio.Reader, sc *sinkConn, readLine func() (string, bool)) bool {
	r := s.data
	if r == "" {
		r = "354 go ahead"
	}
	fmt.Fprintf(c, "%s\r\n", r)
	if !strings.HasPrefix(r, "354") {
		return true
	}
	accepted := false
	for {
		l, err := br.ReadString('\n')
		if err != nil {
			return false
		}
		l = strings.TrimRight(l, "\r\n")
		if l == "." {
			break
		}
		accepted = true
		s.mu.Lock()
		sc.body = append(sc.body, l)
		s.mu.Unlock()
	}
	if !accepted {
		fmt.Fprintf(c, "554 no valid recipients\r\n")
		return true
	}
	fmt.Fprintf(c, "250 queued as 1\r\n")
	return true
}

func sinkQueue(t *testing.T) *Queue {
	cfg := fastConfig(nil, newTestResolver(), nil)
	cfg.CommandTimeout = 30 * time.Second // a hang guard: every reply here comes at once
	return New(cfg)
}

const pipeMsg = "From: alice@example.org\r\nSubject: hi\r\n\r\n.leading dot\r\nbody\r\n"

// With PIPELINING, MAIL, all RCPTs and DATA go out in one write; each
// recipient keeps its own outcome: 250 delivered, 450 retried, 550 failed.
func TestPipelinedMixedRecipients(t *testing.T) {
	sk := startScriptSink(t, &scriptSink{pipelining: true, rcpt: map[string]string{
		"b@remote.test": "450 4.2.1 try later", "c@remote.test": "550 5.1.1 no such user"}})
	q := sinkQueue(t)
	outs, err := q.transaction(context.Background(), hop{host: "mx.remote.test", port: sk.port()}, "127.0.0.1",
		"alice@example.org", []string{"a@remote.test", "b@remote.test", "c@remote.test"}, []byte(pipeMsg))
	if err != nil {
		t.Fatal(err)
	}
	if outs[0].err != nil || !strings.Contains(outs[0].text, "250 queued as 1") {
		t.Errorf("a: %+v, want delivered", outs[0])
	}
	if outs[1].err == nil || isPermanent(outs[1].err) || !strings.Contains(outs[1].text, "450 4.2.1") {
		t.Errorf("b: %+v, want a temporary failure", outs[1])
	}
	if outs[2].err == nil || !isPermanent(outs[2].err) || !strings.Contains(outs[2].text, "550 5.1.1") {
		t.Errorf("c: %+v, want a permanent failure", outs[2])
	}
	conns := sk.snapshot()
	if len(conns) != 1 || !conns[0].batched {
		t.Fatalf("conns %+v, want one with MAIL..DATA batched", conns)
	}
	if got, want := strings.Join(conns[0].body, "|"), "From: alice@example.org|Subject: hi||..leading dot|body"; got != want {
		t.Errorf("body %q, want %q (dot-stuffed)", got, want)
	}
	if last := conns[0].cmds[len(conns[0].cmds)-1]; last != "QUIT" {
		t.Errorf("last command %q, want QUIT", last)
	}
}

// Every RCPT refused: no message body is sent. A server that still says
// 354 to the pipelined DATA gets an empty message (RFC 2920 §3.1), then QUIT.
func TestPipelinedAllRecipientsRefused(t *testing.T) {
	for _, data := range []string{"554 5.5.1 no valid recipients", "354 go ahead"} {
		sk := startScriptSink(t, &scriptSink{pipelining: true, data: data, rcpt: map[string]string{
			"a@remote.test": "550 5.1.1 no", "b@remote.test": "451 4.3.0 later"}})
		outs, err := sinkQueue(t).transaction(context.Background(), hop{host: "mx.remote.test", port: sk.port()}, "127.0.0.1",
			"alice@example.org", []string{"a@remote.test", "b@remote.test"}, []byte(pipeMsg))
		if err != nil {
			t.Fatal(err)
		}
		if !isPermanent(outs[0].err) || outs[1].err == nil || isPermanent(outs[1].err) {
			t.Errorf("DATA %q: outcomes %+v", data, outs)
		}
		c := sk.snapshot()[0]
		if len(c.body) != 0 || c.cmds[len(c.cmds)-1] != "QUIT" {
			t.Errorf("DATA %q: body %q, commands %q", data, c.body, c.cmds)
		}
	}
}

// MAIL FROM refused: 4xx means this server did not carry the transaction
// (try the next one), 5xx fails every recipient. No body is sent either way.
func TestPipelinedMailFromRefused(t *testing.T) {
	for _, mail := range []string{"451 4.3.0 later", "550 5.7.1 go away"} {
		sk := startScriptSink(t, &scriptSink{pipelining: true, mail: mail, data: "503 5.5.1 no MAIL",
			rcpt: map[string]string{"a@remote.test": "503 5.5.1 need MAIL"}})
		outs, err := sinkQueue(t).transaction(context.Background(), hop{host: "mx.remote.test", port: sk.port()}, "127.0.0.1",
			"alice@example.org", []string{"a@remote.test"}, []byte(pipeMsg))
		if strings.HasPrefix(mail, "4") {
			if err == nil || isPermanent(err) || codeOf(err) != 451 {
				t.Errorf("MAIL %q: err %v, outs %+v; want a temporary error", mail, err, outs)
			}
		} else if err != nil || len(outs) != 1 || !isPermanent(outs[0].err) || !strings.Contains(outs[0].text, "550 5.7.1") {
			t.Errorf("MAIL %q: err %v, outs %+v; want a permanent failure", mail, err, outs)
		}
		if c := sk.snapshot()[0]; len(c.body) != 0 || c.cmds[len(c.cmds)-1] != "QUIT" {
			t.Errorf("MAIL %q: body %q, commands %q", mail, c.body, c.cmds)
		}
	}
}

// Without PIPELINING the client waits for each reply (lock-step).
func TestNoPipeliningIsLockStep(t *testing.T) {
	sk := startScriptSink(t, &scriptSink{rcpt: map[string]string{"b@remote.test": "550 5.1.1 no"}})
	outs, err := sinkQueue(t).transaction(context.Background(), hop{host: "mx.remote.test", port: sk.port()}, "127.0.0.1",
		"alice@example.org", []string{"a@remote.test", "b@remote.test"}, []byte(pipeMsg))
	if err != nil {
		t.Fatal(err)
	}
	if outs[0].err != nil || !isPermanent(outs[1].err) {
		t.Errorf("outcomes %+v", outs)
	}
	c := sk.snapshot()[0]
	if c.batched || c.earlyData || len(c.body) == 0 {
		t.Errorf("conn %+v, want lock-step delivery", c)
	}
}

// STARTTLS offered but the handshake breaks: the same attempt reconnects
// and delivers in plaintext (RFC 7435, Postfix's "may").
func TestBrokenTLSFallsBackToPlaintext(t *testing.T) {
	sk := startScriptSink(t, &scriptSink{pipelining: true, brokenTLS: true})
	outs, err := sinkQueue(t).transaction(context.Background(), hop{host: "mx.remote.test", port: sk.port()}, "127.0.0.1",
		"alice@example.org", []string{"a@remote.test"}, []byte(pipeMsg))
	if err != nil {
		t.Fatal(err)
	}
	if outs[0].err != nil {
		t.Fatalf("outcome %+v, want delivered", outs[0])
	}
	conns := sk.snapshot()
	if len(conns) != 2 || !conns[0].tls || conns[1].tls || len(conns[1].body) == 0 {
		t.Fatalf("conns %+v, want a failed TLS attempt then a plaintext delivery", conns)
	}
}

func FuzzReadReply(f *testing.F) {
	for _, s := range []string{"250 ok\r\n", "250-a\r\n250 b\r\n", "250-a\r\n251 b\r\n", "25\r\n", "2500\r\n",
		"999 x\r\n", "250\r\n", "abc def\r\n", strings.Repeat("x", maxReplyLine+10)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		a, b := net.Pipe()
		defer a.Close()
		go func() { b.Write([]byte(in)); b.Close() }()
		c := newSMTPConn(a, time.Second)
		r, err := c.readReply()
		if err == nil && (r.code < 200 || r.code > 599 || len(r.lines) == 0 || len(r.lines) > maxReplyLines) {
			t.Fatalf("reply %+v from %q", r, in)
		}
	})
}
