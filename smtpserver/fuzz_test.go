package smtpserver

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/mailroom/mailroom/auth"
	"github.com/mailroom/mailroom/store"
)

var fuzzSeeds = []string{
	"EHLO c\r\nAUTH PLAIN " + b64("\x00alice@example.com\x00"+testPassword) + "\r\nMAIL FROM:<alice@example.com>\r\nRCPT TO:<bob@example.com>\r\nDATA\r\n",
	"HELO c\r\nAUTH LOGIN\r\n" + b64("alice@example.com") + "\r\n" + b64(testPassword) + "\r\nMAIL FROM:<alice@example.com>\r\nRCPT TO:<postmaster>\r\nDATA\r\nSubject: x\r\n\r\nhi\r\n.\r\nQUIT\r\n",
	"EHLO c\r\nMAIL FROM:<>\r\nRCPT TO:<Postmaster>\r\nBDAT 5\r\nhelloBDAT 0 LAST\r\nRSET\r\n",
	"EHLO c\r\nMAIL FROM:<x@y>\r\nRCPT TO:<bob@example.com>\r\nDATA\r\nbare\nlf\r\n.\r\nRCPT TO:<postmaster>\r\n",
	"EHLO c\r\nMAIL FROM:<x@y>\r\nRCPT TO:<bob@example.com>\r\nBDAT 3 LAST\r\na\rb",
	"EHLO c\r\nAUTH LOGIN =\r\n*\r\nAUTH PLAIN\r\n=\r\nSTARTTLS\r\nDATA\r\n\r\n\r\nNOOP\r\n",
	"\r\n\r\n\r\n\r\n\r\nQUIT\r\n",
	"EHLO " + strings.Repeat("x", 300) + "\r\n",
}

// FuzzCommandLoop feeds arbitrary bytes to a server as one client: it must
// neither panic nor hang, and it must close the connection once the
// client has stopped sending.
func FuzzCommandLoop(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	// Debug level, so that the wire trace (wiretrace.go) runs too.
	log := slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelDebug}))
	f.Fuzz(func(t *testing.T, input []byte) {
		st := newMemStore("", testAccounts...)
		srv := New(Config{
			Mode: ModeMX, Hostname: testHost, Store: st, Logger: log,
			MaxMessageBytes:    4096,
			MaxLineLength:      200,
			MaxRecipients:      5,
			AllowPlaintextAuth: func(net.Addr) bool { return true },
			LookupAddr:         func(context.Context, string) ([]string, error) { return nil, nil },
		})
		// Check passwords without argon2 and throttling delays, which
		// would make an input with many failed AUTHs take seconds.
		srv.authenticate = func(ctx context.Context, user, pass string, _ net.Addr) (store.Account, error) {
			a, err := st.AccountByEmail(ctx, user)
			if err != nil || pass != testPassword {
				return store.Account{}, auth.ErrInvalidCredentials
			}
			return a, nil
		}
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		served := make(chan error, 1)
		go func() { served <- srv.Serve(l) }()
		defer func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second) // a hang guard: its end fails the test
			defer cancel()
			if err := srv.Shutdown(ctx); err != nil {
				t.Errorf("Shutdown: %v", err)
			}
			<-served
		}()

		c, err := net.Dial("tcp", l.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(30 * time.Second))
		go func() {
			c.Write(input)
			c.(*net.TCPConn).CloseWrite()
		}()
		out, err := io.ReadAll(c)
		if err != nil {
			t.Fatalf("server did not close the connection: %v (read %q)", err, out)
		}
		if !bytes.HasPrefix(out, []byte("220 ")) {
			t.Fatalf("no greeting: %q", out)
		}
	})
}

// FuzzFramer checks the framing tracker on arbitrary traffic: it never
// panics, consumes all input, and passes every byte on unchanged unless it
// takes STARTTLS out of the stream (and then refuses mail commands until
// the client greets again) or stops at a command line over the limit.
func FuzzFramer(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s), uint8(3), uint8(0), false)
	}
	f.Add([]byte("EHLO x\r\nSTARTTLS\r\nRCPT TO:<postmaster>\r\n"), uint8(5), uint8(0), true)
	f.Fuzz(func(t *testing.T, input []byte, split, replies uint8, intercept bool) {
		r := framer{interceptTLS: intercept}
		r.server([]byte("220 hi\r\n"))
		var out []byte
		step := int(split)%17 + 1
		for i := 0; len(input[i:]) > 0; {
			end := min(i+step, len(input))
			var used int
			out, used = r.client(out, input[i:end])
			if used == 0 && end > i {
				t.Fatalf("no progress at %d in mode %d", i, r.mode)
			}
			i += used
			if r.tooLong {
				// conn answers 500 and closes here.
				break
			}
			if r.startTLSPending {
				// conn runs the handshake (or refuses) here.
				r.startTLSPending = false
				if replies&2 == 2 {
					r.afterTLS()
				}
			}
			r.refusePending = false // conn answers 503 here
			// Answer as a server might: 354 or 250, chosen by the input.
			if replies&1 == 1 {
				r.server([]byte("354 go\r\n"))
			} else {
				r.server([]byte("250-multi\r\n250 ok\r\n"))
			}
			replies = replies>>1 | replies<<7
		}
		if r.tooLong {
			// Only whole lines before the long one were passed on.
			if !intercept && !bytes.HasPrefix(input, out) {
				t.Fatalf("input changed before a long line:\n in %q\nout %q", input, out)
			}
			return
		}
		out = append(out, r.flush()...)
		if !intercept && !bytes.Equal(out, input) {
			t.Fatalf("input changed:\n in %q\nout %q", input, out)
		}
	})
}
