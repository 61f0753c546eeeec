package smtpserver

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// conn is the net.Conn go-smtp serves: the accepted connection, registered
// with the server for Shutdown, watched by the framer (framing.go), with
// the reply hook (fixReply) on what go-smtp writes.
//
// STARTTLS is handled here, not by go-smtp (see framing.go for why), and
// above TLS, so that the framer and the reply hook keep working after
// it: the framer takes the STARTTLS line out of the
// stream, conn answers 220, discards any plaintext the client pipelined
// after it (RFC 3207 §4.2), performs the handshake and from then on reads
// and writes through the *tls.Conn. go-smtp never sees the command; conn
// also adds STARTTLS to the EHLO reply while it is available.
type conn struct {
	net.Conn // the current connection: raw TCP, or *tls.Conn after STARTTLS or on an implicit-TLS listener
	s        *Server
	raw      net.Conn
	tlsCfg   *tls.Config // STARTTLS offered when non-nil and not yet TLS
	authed   bool        // a session authenticated (STARTTLS refused after AUTH)

	busy bool // guarded by s.mu: a mail transaction is in progress

	// implicit is set on an implicit-TLS listener: the handshake runs
	// before the first read or write (handshake), and until tlsUp no
	// goodbye may be written.
	implicit    bool
	tlsUp       atomic.Bool
	handshaking atomic.Bool // a TLS handshake is running (implicit or STARTTLS)
	hsOnce      sync.Once
	hsErr       error
	// tlsFailed is set when STARTTLS's handshake failed: the client
	// expects TLS, so go-smtp's closing 421 is not written in plaintext.
	tlsFailed bool

	mu     sync.Mutex // guards rw, which sees both directions, and queued
	rw     framer
	queued string // queue id for the next "250 OK: queued" (noteQueued)

	// Used by the one goroutine that reads (go-smtp's, or tls.Conn's).
	buf [4096]byte
	in  []byte // read from the network, not yet processed
	out []byte // processed, not yet returned to go-smtp
	err error  // sticky read error, returned once in and out are drained

	closeOnce sync.Once

	lim       Limits // the server's limits when the connection was accepted
	greetOnce sync.Once
	greetErr  error
}

func newConn(nc net.Conn, s *Server) *conn {
	c := &conn{Conn: nc, raw: nc, s: s, lim: *s.limits.Load(), rw: framer{}}
	c.rw.maxLine = c.lim.MaxLineLength
	if s.log.Enabled(context.Background(), slog.LevelDebug) {
		c.rw.tr = &wireTrace{log: s.log.With("remote", nc.RemoteAddr().String())}
	}
	if tc, ok := nc.(*tls.Conn); ok {
		c.raw = tc.NetConn()
		c.implicit = true
	} else if s.cfg.TLSConfig != nil {
		c.tlsCfg = s.cfg.TLSConfig
		c.rw.interceptTLS = true
	}
	return c
}

// TLS reports the connection's TLS state once a handshake has completed.
func (c *conn) TLS() (tls.ConnectionState, bool) {
	c.mu.Lock()
	nc := c.Conn
	c.mu.Unlock()
	tc, ok := nc.(*tls.Conn)
	if !ok {
		return tls.ConnectionState{}, false
	}
	st := tc.ConnectionState()
	return st, st.HandshakeComplete
}

// Replies conn writes itself for STARTTLS (RFC 3207 §4).
const (
	replyStartTLS       = "220 2.0.0 Ready to start TLS\r\n"
	replyStartTLSInTx   = "503 5.5.1 STARTTLS not allowed during a mail transaction or after AUTH\r\n"
	replyStartTLSParams = "501 5.5.4 STARTTLS takes no parameters\r\n"
	ehloStartTLS        = "250-STARTTLS\r\n"
	replyHelloFirst     = "503 5.5.1 Send EHLO/HELO again after STARTTLS\r\n"
	replyLineTooLong    = "500 5.4.0 Too long line, closing connection\r\n"
)

// startTLS runs the STARTTLS command. go-smtp has answered everything it
// was given (it reads only when done), so the 220 is in order.
func (c *conn) startTLS() error {
	c.s.mu.Lock()
	busy := c.busy
	c.s.mu.Unlock()
	if c.rw.startTLSArgs {
		_, err := c.raw.Write([]byte(replyStartTLSParams))
		c.traceReply([]byte(replyStartTLSParams), false, -1)
		return err
	}
	if busy || c.authed {
		_, err := c.raw.Write([]byte(replyStartTLSInTx))
		c.traceReply([]byte(replyStartTLSInTx), false, -1)
		return err
	}
	c.raw.SetWriteDeadline(time.Now().Add(c.lim.WriteTimeout))
	c.handshaking.Store(true) // from the 220 on, no plaintext goodbye
	defer c.handshaking.Store(false)
	if _, err := c.raw.Write([]byte(replyStartTLS)); err != nil {
		return err
	}
	c.traceReply([]byte(replyStartTLS), false, -1)
	// RFC 3207 §4.2: anything the client sent after STARTTLS before the
	// handshake is plaintext injected by a man in the middle; drop it.
	c.in, c.out = nil, nil
	tc := tls.Server(c.raw, c.tlsCfg)
	if err := c.runHandshake(tc, "starttls"); err != nil {
		c.tlsFailed = true
		return err
	}
	c.mu.Lock()
	c.Conn = tc
	c.tlsCfg = nil
	c.rw.afterTLS()
	c.mu.Unlock()
	return nil
}

// replyEarlyTalker refuses a client that spoke before the greeting
// (Sendmail's greet_pause, Postfix postscreen's pregreet test).
const replyEarlyTalker = "554 5.5.1 Protocol error: talking before the greeting\r\n"

// errEarlyTalker ends a connection whose client spoke before the
// greeting.
var errEarlyTalker = errors.New("smtpserver: client spoke before the greeting")

// greetPause runs before the greeting (go-smtp's first write) on the
// MX listener when Config.GreetPause is set: it waits that long for
// the client to say anything. A client that speaks first — SMTP clients
// must wait for the greeting (RFC 5321 §3.1), spam software often does
// not — gets 554 5.5.1 and is closed; one that waits is greeted.
func (c *conn) greetPause() error {
	d := c.s.cfg.GreetPause
	if d <= 0 || c.s.cfg.Mode != ModeMX || c.implicit {
		return nil
	}
	c.greetOnce.Do(func() {
		c.raw.SetReadDeadline(time.Now().Add(d))
		var b [1]byte
		n, err := c.raw.Read(b[:])
		c.raw.SetReadDeadline(time.Time{})
		var ne net.Error
		switch {
		case n > 0:
			c.s.log.Info("smtp: early talker refused", "remote", c.raw.RemoteAddr().String())
			c.raw.SetWriteDeadline(time.Now().Add(time.Second))
			c.raw.Write([]byte(replyEarlyTalker))
			c.greetErr = errEarlyTalker
			c.Close()
		case errors.As(err, &ne) && ne.Timeout():
			// Silent for the whole pause: a well-behaved client.
		case err != nil:
			c.greetErr = err
		}
	})
	return c.greetErr
}

// handshake completes an implicit-TLS connection's handshake before its
// first read or write (go-smtp's first act is the greeting).
func (c *conn) handshake() error {
	if !c.implicit {
		return nil
	}
	c.hsOnce.Do(func() {
		c.handshaking.Store(true)
		defer c.handshaking.Store(false)
		c.hsErr = c.runHandshake(c.Conn.(*tls.Conn), "smtps")
		c.tlsUp.Store(c.hsErr == nil)
	})
	return c.hsErr
}

// runHandshake runs tc's handshake within Config.HandshakeTimeout, so a
// silent client or one that stops mid-ClientHello is dropped then;
// Shutdown ends it by closing the connection.
func (c *conn) runHandshake(tc *tls.Conn, kind string) error {
	c.raw.SetDeadline(time.Now().Add(c.s.cfg.HandshakeTimeout))
	if err := tc.HandshakeContext(c.s.ctx); err != nil {
		c.s.log.Info("smtp: tls handshake failed", "kind", kind, "remote", c.raw.RemoteAddr().String(), "err", err)
		c.s.cfg.Metrics.TLSHandshakeFailed(handshakeLabel(c.s.cfg.Mode, kind))
		return err
	}
	c.raw.SetDeadline(time.Time{})
	return nil
}

func (c *conn) Read(p []byte) (int, error) {
	if err := c.handshake(); err != nil {
		return 0, err
	}
	for {
		if len(c.out) == 0 && c.rw.refusePending {
			c.rw.refusePending = false
			c.Conn.SetWriteDeadline(time.Now().Add(c.lim.WriteTimeout))
			if _, err := c.Conn.Write([]byte(replyHelloFirst)); err != nil {
				c.err = err
				return 0, err
			}
			c.traceReply([]byte(replyHelloFirst), false, -1)
			continue
		}
		if len(c.out) == 0 && c.rw.tooLong {
			// go-smtp's own reply to a line over its limit.
			c.Conn.SetWriteDeadline(time.Now().Add(c.lim.WriteTimeout))
			c.Conn.Write([]byte(replyLineTooLong))
			c.traceReply([]byte(replyLineTooLong), false, -1)
			c.err = io.EOF // go-smtp ends the session quietly
			return 0, c.err
		}
		if len(c.out) == 0 && c.rw.startTLSPending {
			c.rw.startTLSPending = false
			if err := c.startTLS(); err != nil {
				c.err = err
				return 0, err
			}
			continue
		}
		if len(c.out) > 0 {
			n := copy(p, c.out)
			c.out = c.out[n:]
			return n, nil
		}
		if len(c.in) > 0 {
			var used int
			c.mu.Lock()
			c.out, used = c.rw.client(c.out[:0], c.in)
			c.mu.Unlock()
			c.in = c.in[used:]
			continue
		}
		if c.err != nil {
			c.mu.Lock()
			held := c.rw.flush()
			c.mu.Unlock()
			if len(held) > 0 {
				c.out = append(c.out[:0], held...)
				continue
			}
			return 0, c.err
		}
		n, err := c.Conn.Read(c.buf[:])
		c.in = append(c.in, c.buf[:n]...)
		c.err = err
	}
}

// bareLineEnding reports whether the last DATA message had a bare CR or
// LF on the wire, and forgets it.
func (c *conn) bareLineEnding() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	bare := c.rw.bare
	c.rw.bare = false
	return bare
}

// The reply hook. go-smtp writes each reply line with one Write and has no
// option for these four lines, so fixReply swaps them whole (it never
// edits part of a line, never looks at a command, and leaves every other
// reply alone); docs/architecture.md ("go-smtp and the hooks that remain")
// lists why each one is needed:
//   - a successful AUTH: go-smtp says "235 2.0.0", RFC 4954 §6 "235 2.7.0";
//   - a SASL response that is not base64: go-smtp says 454 4.7.0 (retry
//     later), RFC 4954 §4 requires 501;
//   - EHLO's SIZE: go-smtp runs one byte above MaxMessageBytes (see New),
//     SIZE announces the real limit (RFC 1870);
//   - the success after DATA/BDAT LAST: go-smtp's fixed "250 2.0.0 OK:
//     queued" gets the queue id (Session.Data can only return an error,
//     so the id is handed over by noteQueued, not as an error value).
var (
	goSMTPAuthOK    = []byte("235 2.0.0 Authentication succeeded\r\n")
	authOK          = []byte("235 2.7.0 Authentication succeeded\r\n")
	goSMTPBadBase64 = []byte("454 4.7.0 Invalid base64 data\r\n")
	badBase64       = []byte(strconv.Itoa(codeSyntaxErrorParameter) + " 5.5.2 Invalid base64 data\r\n")
	goSMTPQueued    = []byte("250 2.0.0 OK: queued\r\n")
)

// noteQueued gives the queue id of the message Session.Data has just made
// durable to the success reply go-smtp writes next.
func (c *conn) noteQueued(id string) {
	c.mu.Lock()
	c.queued = id
	c.mu.Unlock()
}

// fixReply returns the replacement of the whole reply line p, or nil to
// write p as it is.
func (c *conn) fixReply(p []byte) []byte {
	switch {
	case bytes.Equal(p, goSMTPAuthOK):
		return authOK
	case bytes.Equal(p, goSMTPBadBase64):
		return badBase64
	case bytes.Equal(p, goSMTPQueued):
		c.mu.Lock()
		id := c.queued
		c.queued = ""
		c.mu.Unlock()
		if id == "" {
			return nil
		}
		return []byte("250 2.0.0 OK: queued as " + id + "\r\n")
	}
	// go-smtp is configured far above MaxMessageBytes (see New); the
	// EHLO SIZE keyword (RFC 1870) announces the session's limit.
	if len(p) > 9 && bytes.HasPrefix(p[:3], []byte("250")) && (p[3] == '-' || p[3] == ' ') &&
		bytes.Equal(p[4:], []byte("SIZE "+strconv.FormatInt(goSMTPMaxMessageBytes, 10)+"\r\n")) {
		return append(p[:4:4], "SIZE "+strconv.FormatInt(c.lim.MaxMessageBytes, 10)+"\r\n"...)
	}
	return nil
}

// SetReadDeadline replaces the deadline go-smtp sets before reading each
// command (its ReadTimeout, fixed for the server's life) by one from the
// connection's ReadTimeout, which a reload may have changed.
func (c *conn) SetReadDeadline(time.Time) error {
	return c.Conn.SetReadDeadline(time.Now().Add(c.lim.ReadTimeout))
}

// SetWriteDeadline is SetReadDeadline for go-smtp's WriteTimeout, set
// before each reply.
func (c *conn) SetWriteDeadline(time.Time) error {
	return c.Conn.SetWriteDeadline(time.Now().Add(c.lim.WriteTimeout))
}

// extendDataDeadline gives the client the connection's DataTimeout for
// the next piece of message data.
func (c *conn) extendDataDeadline() {
	c.Conn.SetReadDeadline(time.Now().Add(c.lim.DataTimeout))
}

func (c *conn) Write(p []byte) (int, error) {
	if err := c.handshake(); err != nil {
		return 0, err
	}
	if err := c.greetPause(); err != nil {
		return 0, err
	}
	if c.tlsFailed {
		return 0, net.ErrClosed
	}
	c.mu.Lock()
	advertise := c.rw.ehloFirstLine() && bytes.HasPrefix(p, []byte("250-"))
	greeting := !c.rw.greeted
	c.rw.server(p)
	replies := c.rw.replies
	c.mu.Unlock()
	out := p
	if advertise {
		// The first line of the EHLO reply; STARTTLS follows it.
		out = append(append([]byte(nil), p...), ehloStartTLS...)
	} else if q := c.fixReply(p); q != nil {
		out = q
	}
	if _, err := c.Conn.Write(out); err != nil {
		return 0, err
	}
	c.traceReply(out, greeting, replies)
	return len(p), nil
}

// traceReply hands a reply written to the client to the debug trace.
// Replies conn writes itself (STARTTLS, the 503 after it) come here too,
// with replies as the framer last counted them.
func (c *conn) traceReply(p []byte, greeting bool, replies int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.rw.tr != nil {
		if replies < 0 {
			replies = c.rw.replies
		}
		c.rw.tr.reply(p, greeting, replies)
	}
}

func (c *conn) Close() error {
	var err error
	c.closeOnce.Do(func() {
		c.s.forget(c)
		c.mu.Lock()
		nc := c.Conn
		c.mu.Unlock()
		err = nc.Close()
	})
	return err
}

// shutdownReply is sent to connections closed by Shutdown (RFC 5321 §3.8).
const shutdownReply = "421 4.3.2 Server shutting down, try again later\r\n"

// shutdownWriteTimeout bounds the goodbye to one client.
const shutdownWriteTimeout = time.Second

// closeShutdown tells the client the server is going away and closes the
// connection. It writes to the network directly, not through go-smtp, and
// only where a reply can be read: not during a TLS handshake (writing to
// a *tls.Conn would run or wait for the handshake, reading from a client
// that may never speak), nor before an implicit-TLS handshake.
func (c *conn) closeShutdown() {
	c.mu.Lock()
	nc := c.Conn
	c.mu.Unlock()
	if !c.handshaking.Load() && (!c.implicit || c.tlsUp.Load()) {
		c.raw.SetDeadline(time.Now().Add(shutdownWriteTimeout))
		nc.Write([]byte(shutdownReply))
	}
	c.forceClose()
}

// forceClose closes the TCP connection first, so that neither a pending
// handshake nor TLS's close_notify (which waits for the connection's
// write lock and up to 5 s) can hold Shutdown, then forgets it.
func (c *conn) forceClose() {
	c.raw.Close()
	c.Close()
}
