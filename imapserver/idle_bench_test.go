package imapserver

import (
	"context"
	"encoding/base64"
	"fmt"
	"net"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/argon2"

	"github.com/mailroom/mailroom/message"
	"github.com/mailroom/mailroom/store"
)

// cheapHash is an argon2id credential with minimal cost, so that the idle
// benchmark measures connections, not password hashing.
func cheapHash(password string) string {
	salt := []byte("0123456789abcdef")
	key := argon2.IDKey([]byte(password), salt, 1, 8, 1, 32)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=8,t=1,p=1$%s$%s", argon2.Version, b64.EncodeToString(salt), b64.EncodeToString(key))
}

// idleClient is a minimal client: no bufio, no goroutine, so that what the
// benchmark measures is mostly the server's side of each connection.
type idleClient struct {
	nc  net.Conn
	buf [512]byte
}

// expect reads until a line starting with prefix has arrived.
func (ic *idleClient) expect(tb testing.TB, prefix string) {
	tb.Helper()
	ic.nc.SetReadDeadline(time.Now().Add(30 * time.Second))
	var have []byte
	for {
		n, err := ic.nc.Read(ic.buf[:])
		if err != nil {
			tb.Fatalf("read: %v (have %q)", err, have)
		}
		have = append(have, ic.buf[:n]...)
		for _, line := range strings.Split(string(have), "\r\n") {
			if strings.HasPrefix(line, prefix) {
				return
			}
		}
	}
}

func (ic *idleClient) send(tb testing.TB, s string) {
	tb.Helper()
	if _, err := ic.nc.Write([]byte(s)); err != nil {
		tb.Fatal(err)
	}
}

// BenchmarkIdleConnections opens N authenticated connections (default
// 2,000; IDLEBENCH_N overrides) that SELECT INBOX and IDLE, and reports the
// Go heap and stack in use per connection once they all idle. Client and
// server share the process, so the figure includes the client's socket
// (a few hundred bytes). Run:
//
//	go test -run '^$' -bench IdleConnections -benchtime 1x ./imapserver
func BenchmarkIdleConnections(b *testing.B) {
	n := 2000
	if s := os.Getenv("IDLEBENCH_N"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	ts := startTestServer(b)
	const user, pass = "idler@example.org", "idle-password"
	acct, err := ts.st.CreateAccount(context.Background(), user, cheapHash(pass))
	if err != nil {
		b.Fatal(err)
	}
	delivered := 0
	for b.Loop() {
		clients := make([]*idleClient, n)
		before := inUse()
		for i := range clients {
			nc, err := net.Dial("tcp", ts.addr)
			if err != nil {
				b.Fatal(err)
			}
			ic := &idleClient{nc: nc}
			clients[i] = ic
			ic.expect(b, "* OK")
			ic.send(b, "a LOGIN "+user+" "+pass+"\r\nb SELECT INBOX\r\nc IDLE\r\n")
			ic.expect(b, "+ ")
		}
		after := inUse()
		b.ReportMetric(float64(after-before)/float64(n), "bytes/conn")
		b.ReportMetric(float64(runtime.NumGoroutine())/float64(n), "goroutines/conn")
		// A delivery still reaches an idler.
		raw := []byte("Subject: x\r\n\r\nhi\r\n")
		if _, err := ts.st.Deliver(context.Background(), []store.Target{{AccountID: acct.ID}}, store.NewMessage{Raw: raw, Part: message.Parse(raw)}); err != nil {
			b.Fatal(err)
		}
		delivered++
		exists := fmt.Sprintf("* %d EXISTS", delivered)
		for _, ic := range clients {
			ic.expect(b, exists)
		}
		// Waking ran store calls on every idler's goroutine; its stack
		// grew and is only halved by later collections.
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		b.ReportMetric(float64(ms.StackInuse)/float64(n), "stack-bytes/conn-after-wake")
		for _, ic := range clients {
			ic.send(b, "DONE\r\nd LOGOUT\r\n")
		}
		for _, ic := range clients {
			ic.expect(b, "d OK")
			ic.nc.Close()
		}
	}
}

// inUse returns the heap and stack bytes in use after a full collection.
func inUse() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	if os.Getenv("IDLEBENCH_V") != "" {
		fmt.Printf("heap %d stack %d\n", ms.HeapInuse, ms.StackInuse)
	}
	return ms.HeapInuse + ms.StackInuse
}
