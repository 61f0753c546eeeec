package connlimit

import (
	"bufio"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"
)

func TestLimits(t *testing.T) {
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := New(raw, Config{Total: 3, PerIP: 2, Refuse: RefuseSMTP, Logger: slog.New(slog.DiscardHandler)})
	defer l.Close()
	served := make(chan net.Conn, 10)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Write([]byte("220 hello\r\n"))
			served <- c
		}
	}()
	dial := func(local string) (string, net.Conn) {
		t.Helper()
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}}
		c, err := d.Dial("tcp", raw.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		c.SetReadDeadline(time.Now().Add(30 * time.Second))
		line, _ := bufio.NewReader(c).ReadString('\n')
		return line, c
	}
	if g, _ := dial("127.0.0.1"); g != "220 hello\r\n" {
		t.Fatalf("first: %q", g)
	}
	dial("127.0.0.1")
	if g, _ := dial("127.0.0.1"); g != string(RefuseSMTP) {
		t.Fatalf("third from one IP: %q, want the refusal", g)
	}
	if g, _ := dial("127.0.0.2"); g != "220 hello\r\n" {
		t.Fatalf("other IP: %q", g)
	}
	if g, _ := dial("127.0.0.3"); g != string(RefuseSMTP) {
		t.Fatalf("over total: %q", g)
	}
	// Closing a served connection frees its slot.
	(<-served).Close()
	if g, _ := dial("127.0.0.1"); g != "220 hello\r\n" {
		t.Fatalf("after close: %q", g)
	}
	st := l.Stats()
	if st.Active != 3 || st.Refused != 2 || st.Accepted != 4 {
		t.Errorf("stats %+v", st)
	}
}

// SetLimits applies to the next connection; open ones stay.
func TestSetLimits(t *testing.T) {
	t.Parallel()
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := New(raw, Config{PerIP: 1, Refuse: RefuseSMTP, Logger: slog.New(slog.DiscardHandler)})
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Write([]byte("220 hello\r\n"))
		}
	}()
	greet := func() string {
		t.Helper()
		c, err := net.Dial("tcp", raw.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		c.SetReadDeadline(time.Now().Add(30 * time.Second))
		line, _ := bufio.NewReader(c).ReadString('\n')
		return line
	}
	if g := greet(); g != "220 hello\r\n" {
		t.Fatalf("first: %q", g)
	}
	if g := greet(); g != string(RefuseSMTP) {
		t.Fatalf("second at PerIP 1: %q, want the refusal", g)
	}
	l.SetLimits(0, 2)
	if g := greet(); g != "220 hello\r\n" {
		t.Fatalf("second after raising PerIP to 2: %q", g)
	}
	l.SetLimits(2, 0)
	if g := greet(); g != string(RefuseSMTP) {
		t.Fatalf("third at Total 2: %q, want the refusal", g)
	}
	if st := l.Stats(); st.Active != 2 {
		t.Errorf("active %d, want 2 (lowering a limit closes nothing)", st.Active)
	}
}

// TestWriteBuffers: an accepted connection passes net.Buffers on to the
// TCP connection (one writev), every byte in order.
func TestWriteBuffers(t *testing.T) {
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := New(raw, Config{Total: 3, PerIP: 2, Logger: slog.New(slog.DiscardHandler)})
	defer l.Close()
	got := make(chan string, 1)
	go func() {
		c, err := net.Dial("tcp", raw.Addr().String())
		if err != nil {
			got <- err.Error()
			return
		}
		defer c.Close()
		c.SetReadDeadline(time.Now().Add(30 * time.Second))
		b, _ := io.ReadAll(c)
		got <- string(b)
	}()
	c, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	bw, ok := c.(interface {
		WriteBuffers(*net.Buffers) (int64, error)
	})
	if !ok {
		t.Fatalf("%T has no WriteBuffers", c)
	}
	big := strings.Repeat("x", 100<<10)
	bufs := net.Buffers{[]byte("* 1 FETCH (BODY[] {102400}\r\n"), []byte(big)}
	if n, err := bw.WriteBuffers(&bufs); err != nil || n != int64(28+len(big)) {
		t.Fatalf("WriteBuffers: %d, %v", n, err)
	}
	c.Close()
	if s := <-got; s != "* 1 FETCH (BODY[] {102400}\r\n"+big {
		t.Fatalf("read %d bytes: %.40q", len(s), s)
	}
}
