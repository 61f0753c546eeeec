package managesieve

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"log/slog"
	"net"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mailroom/mailroom/auth"
	"github.com/mailroom/mailroom/store"
)

func FuzzReadCommand(f *testing.F) {
	for _, s := range []string{
		"CAPABILITY\r\n", `PUTSCRIPT "a" {5+}` + "\r\nkeep;\r\n", `AUTHENTICATE "PLAIN" "AGEAYg=="` + "\r\n",
		`NOOP "x\"y\\"` + "\r\n", "{3}\r\nabc\r\n", `HAVESPACE "a" 100` + "\r\n", "\r\n", `"unterminated` + "\r\n",
		"{99999999999+}\r\n", "{1+x}\r\n", "A B C D E F G H\r\n", "a\x00b\r\n",
	} {
		f.Add([]byte(s), false)
	}
	f.Fuzz(func(t *testing.T, in []byte, after bool) {
		lim := wireLimits{line: 64, literal: 32}
		if after {
			lim = wireLimits{line: 128, literal: 256, skipBig: true}
		}
		r := reader{br: bufio.NewReader(bytes.NewReader(in))}
		for range 20 {
			cmd, err := r.readCommand(lim)
			if err != nil {
				if _, ok := err.(*noError); ok {
					continue
				}
				return
			}
			if cmd.name != strings.ToUpper(cmd.name) || len(cmd.args) > maxArgs {
				t.Fatalf("command %+v", cmd)
			}
			n := len(cmd.name)
			for _, a := range cmd.args {
				if len(a.val) > lim.literal && len(a.val) > lim.line {
					t.Fatalf("argument of %d bytes over the limits", len(a.val))
				}
				if a.atom {
					n += len(a.val)
				}
			}
			if n > lim.line {
				t.Fatalf("line of %d bytes accepted", n)
			}
		}
	})
}

// memStore is an in-memory Store.
type memStore struct {
	mu      sync.Mutex
	scripts map[string]store.SieveScript
	active  string
}

var _ Store = (*memStore)(nil)

func (m *memStore) PutSieveScript(ctx context.Context, accountID int64, name string, src []byte) (store.SieveScript, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := store.CheckSieveScript(name, src); err != nil {
		return store.SieveScript{}, err
	}
	sc := store.SieveScript{AccountID: accountID, Name: name, Source: src}
	m.scripts[name] = sc
	return sc, nil
}

func (m *memStore) SieveScript(ctx context.Context, accountID int64, name string) (store.SieveScript, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	sc, ok := m.scripts[name]
	if !ok {
		return sc, store.ErrNotFound
	}
	sc.Active = name == m.active
	return sc, nil
}

func (m *memStore) SieveScripts(ctx context.Context, accountID int64) ([]store.SieveScript, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []store.SieveScript
	for n, sc := range m.scripts {
		sc.Active, sc.Source = n == m.active, nil
		out = append(out, sc)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func (m *memStore) ActivateSieveScript(ctx context.Context, accountID int64, name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.scripts[name]; !ok && name != "" {
		return store.ErrNotFound
	}
	m.active = name
	return nil
}

func (m *memStore) DeleteSieveScript(ctx context.Context, accountID int64, name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.scripts[name]; !ok {
		return store.ErrNotFound
	}
	delete(m.scripts, name)
	if m.active == name {
		m.active = ""
	}
	return nil
}

func (m *memStore) RenameSieveScript(ctx context.Context, accountID int64, oldName, newName string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := store.CheckSieveName(newName); err != nil {
		return err
	}
	sc, ok := m.scripts[oldName]
	if !ok {
		return store.ErrNotFound
	}
	if _, ok := m.scripts[newName]; ok {
		return store.ErrExists
	}
	delete(m.scripts, oldName)
	sc.Name = newName
	m.scripts[newName] = sc
	if m.active == oldName {
		m.active = newName
	}
	return nil
}

// pipeConn is a net.Conn whose client side is a fixed byte string.
type pipeConn struct {
	in  *bytes.Reader
	out bytes.Buffer
}

func (c *pipeConn) Read(p []byte) (int, error)  { return c.in.Read(p) }
func (c *pipeConn) Write(p []byte) (int, error) { return c.out.Write(p) }
func (c *pipeConn) Close() error                { return nil }
func (c *pipeConn) LocalAddr() net.Addr         { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 4190} }
func (c *pipeConn) RemoteAddr() net.Addr {
	return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000}
}
func (c *pipeConn) SetDeadline(time.Time) error      { return nil }
func (c *pipeConn) SetReadDeadline(time.Time) error  { return nil }
func (c *pipeConn) SetWriteDeadline(time.Time) error { return nil }

// syncBuffer collects log output from the session goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// FuzzCommandLoop feeds arbitrary client bytes to a whole session: no
// panic, no hang, no unexpected error, every response line in CRLF.
func FuzzCommandLoop(f *testing.F) {
	login := `AUTHENTICATE "PLAIN" "` + b64("\x00u\x00p") + `"` + "\r\n"
	for _, s := range []string{
		login + `PUTSCRIPT "a" {5+}` + "\r\nkeep;\r\nSETACTIVE \"a\"\r\nLISTSCRIPTS\r\nGETSCRIPT \"a\"\r\nDELETESCRIPT \"a\"\r\nLOGOUT\r\n",
		login + `RENAMESCRIPT "a" "b"` + "\r\nHAVESPACE \"x\" 10\r\nCHECKSCRIPT \"if true {\"\r\nUNAUTHENTICATE\r\nLISTSCRIPTS\r\n",
		"AUTHENTICATE \"LOGIN\"\r\n\"dQ==\"\r\n\"cA==\"\r\nNOOP \"t\"\r\nCAPABILITY\r\n",
		"AUTHENTICATE \"PLAIN\"\r\n\"*\"\r\nSTARTTLS\r\n",
		strings.Repeat("x", 2000) + "\r\nCAPABILITY\r\n",
		strings.Repeat("BAD\r\n", 12),
		login + `PUTSCRIPT "a" {999999+}` + "\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, input []byte) {
		var logs syncBuffer
		s := New(Config{
			Hostname:      "fuzz",
			Store:         &memStore{scripts: map[string]store.SieveScript{}},
			Logger:        slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn})),
			MaxScriptSize: 4096,
			MaxScripts:    4,
		})
		s.sasl = func(ctx context.Context, _ net.Addr, _ *tls.ConnectionState, result func(store.Account, error)) auth.SASLConfig {
			return auth.SASLConfig{Check: func(user, pass string) error {
				if user == "u" && pass == "p" {
					result(store.Account{ID: 1, Email: "u"}, nil)
					return nil
				}
				result(store.Account{}, auth.ErrInvalidCredentials)
				return auth.ErrInvalidCredentials
			}}
		}
		pc := &pipeConn{in: bytes.NewReader(input)}
		done := make(chan struct{})
		go func() {
			defer close(done)
			newConn(s, pc).Serve()
		}()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Fatal("session hangs")
		}
		if l := logs.String(); l != "" {
			t.Fatalf("unexpected log output:\n%s", l)
		}
		out := pc.out.Bytes()
		if !bytes.HasSuffix(out, []byte("\r\n")) {
			t.Fatalf("output does not end in CRLF: %q", out)
		}
	})
}
