// Package nettest holds what the protocol servers' tests share about raw
// connections: silent and half-finished TLS clients, and waiting for the
// server to close. It is imported by tests only.
package nettest

import (
	"errors"
	"io"
	"net"
	"testing"
	"time"
)

// PartialClientHello returns the start of a TLS ClientHello: a record
// header announcing 512 bytes and a few of them, after which the client
// goes silent.
func PartialClientHello() []byte {
	return []byte{0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03}
}

// Dial opens a TCP connection to addr, closed when t ends.
func Dial(t testing.TB, addr string) net.Conn {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	return nc
}

// ExpectClosed fails t unless the server closes nc within limit having
// written nothing more to r (nc itself, or a reader buffering it).
func ExpectClosed(t testing.TB, nc net.Conn, r io.Reader, limit time.Duration, what string) {
	t.Helper()
	nc.SetReadDeadline(time.Now().Add(limit))
	start := time.Now()
	b, err := io.ReadAll(r)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Errorf("%s: still open after %v", what, time.Since(start))
		return
	}
	if len(b) != 0 {
		t.Errorf("%s: server wrote %q", what, b)
	}
}
