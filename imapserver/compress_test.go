package imapserver

import (
	"bufio"
	"compress/flate"
	"fmt"
	"net"
	"slices"
	"strings"
	"testing"
	"time"
)

// deflateConn is the client side of COMPRESS=DEFLATE.
type deflateConn struct {
	net.Conn
	fw *flate.Writer
	fr interface{ Read([]byte) (int, error) }
}

func (d *deflateConn) Read(b []byte) (int, error) { return d.fr.Read(b) }
func (d *deflateConn) Write(b []byte) (int, error) {
	n, err := d.fw.Write(b)
	if err == nil {
		err = d.fw.Flush()
	}
	return n, err
}

// compressOn sends COMPRESS DEFLATE and switches the test connection to it.
func (tc *testConn) compressOn() {
	tc.t.Helper()
	tc.transactf("ok", "compress deflate")
	if tc.br.Buffered() > 0 {
		tc.t.Fatalf("data after COMPRESS's OK before compression")
	}
	fw, _ := flate.NewWriter(tc.nc, flate.DefaultCompression)
	dc := &deflateConn{Conn: tc.nc, fw: fw, fr: flate.NewReader(tc.nc)}
	tc.nc = dc
	tc.br = bufio.NewReader(dc)
}

// TestCompress: COMPRESS=DEFLATE (RFC 4978) only after login; then
// commands, literals and IDLE's pushed updates work compressed both ways,
// a second COMPRESS is NO [COMPRESSIONACTIVE], and a zip bomb line meets
// the line limit.
func TestCompress(t *testing.T) {
	t.Parallel()
	ts := startTestServer(t)
	ts.deliver("", simpleMsg)
	tc := ts.dial()
	if caps := atomsUpper(parseResp(t, tc.transactf("ok", "capability")[0]).items); slices.Contains(caps, "COMPRESS=DEFLATE") {
		t.Fatalf("COMPRESS advertised before login: %v", caps)
	}
	tc.transactf("bad", "compress deflate")
	tc.transactf("ok", "login %s %s", testUser, testPass)
	if caps := atomsUpper(parseResp(t, tc.transactf("ok", "capability")[0]).items); !slices.Contains(caps, "COMPRESS=DEFLATE") {
		t.Fatalf("COMPRESS=DEFLATE not advertised: %v", caps)
	}
	tc.transactf("bad", "compress gzip")
	tc.compressOn()
	tc.transactf("no", "compress deflate")
	if tc.lastTaggedResp().codeName() != "COMPRESSIONACTIVE" {
		t.Fatalf("second COMPRESS: %q", tc.lastTagged)
	}
	tc.transactf("ok", "select inbox")
	msg := "Subject: squeezed\r\n\r\n" + strings.Repeat("compressible text ", 2000) + "\r\n"
	tc.transactf("ok", "append inbox {%d+}\r\n%s", len(msg), msg)
	rs := parseResps(t, tc.transactf("ok", "fetch 2 body[]"))
	if f := find(rs, "FETCH"); len(f) != 1 || f[0].fetchAttrs()["BODY[]"] != msg {
		t.Fatalf("FETCH of the appended message over DEFLATE: %.200v", rs)
	}

	// IDLE: a delivery wakes the session, its EXISTS comes compressed.
	tc.writeLine("i1 IDLE")
	if l := tc.readResponse(); !strings.HasPrefix(l, "+ ") {
		t.Fatalf("IDLE: %q", l)
	}
	ts.deliver("", simpleMsg)
	if r := parseResp(t, tc.readResponse()); r.kind != "EXISTS" || r.num != 3 {
		t.Fatalf("IDLE update: %v, want * 3 EXISTS", r)
	}
	tc.writeLine("DONE")
	tc.readUntilTagged("i1", "ok")

	// A line inflating to 8 MiB: refused at the line limit (64 KiB by
	// default), the stream is read on, the session goes on.
	start := time.Now()
	tc.nc.SetWriteDeadline(time.Now().Add(30 * time.Second))
	wrote := make(chan struct{})
	go func() {
		defer close(wrote)
		fmt.Fprintf(tc.nc, "b1 STATUS %s (MESSAGES)\r\n", strings.Repeat("a", 8<<20))
	}()
	tc.readUntilTagged("b1", "bad")
	// The server may answer before the writer's Write has returned (it
	// still updates the deflate state after the last bytes went out): the
	// next command must not write to the stream concurrently.
	<-wrote
	if tc.lastTaggedResp().codeName() != "TOOBIG" {
		t.Fatalf("bomb line: %q", tc.lastTagged)
	}
	tc.transactf("ok", "noop")
	t.Logf("8 MiB line refused in %v", time.Since(start))

	// UNAUTHENTICATE keeps DEFLATE; logging in again works over it.
	tc.transactf("ok", "unauthenticate")
	tc.transactf("bad", "compress deflate")
	tc.transactf("ok", "login %s %s", testUser, testPass)
	if f := find(parseResps(t, tc.transactf("ok", "status inbox (messages)")), "STATUS"); len(f) != 1 {
		t.Fatalf("STATUS after login again: %v", f)
	}
}

// TestCompressOverTLS: DEFLATE over STARTTLS: IDLE is woken through both
// layers, the session stays on TLS (LOGIN works again after
// UNAUTHENTICATE without plaintext auth), and STARTTLS under DEFLATE is
// refused.
func TestCompressOverTLS(t *testing.T) {
	t.Parallel()
	srvTLS, cliTLS := testTLS(t)
	ts := startTestServer(t, withTLS(srvTLS, false))
	tc := ts.dial()
	tc.startTLS(cliTLS)
	tc.transactf("ok", "login %s %s", testUser, testPass)
	tc.compressOn()
	tc.transactf("ok", "select inbox")
	tc.writeLine("i1 IDLE")
	if l := tc.readResponse(); !strings.HasPrefix(l, "+ ") {
		t.Fatalf("IDLE: %q", l)
	}
	ts.deliver("", simpleMsg)
	if r := parseResp(t, tc.readResponse()); r.kind != "EXISTS" || r.num != 1 {
		t.Fatalf("IDLE update: %v, want * 1 EXISTS", r)
	}
	tc.writeLine("DONE")
	tc.readUntilTagged("i1", "ok")
	tc.transactf("ok", "unauthenticate")
	tc.transactf("bad", "starttls")
	tc.transactf("ok", "login %s %s", testUser, testPass)
	tc.transactf("ok", "noop")
}
