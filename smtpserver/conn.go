package smtpserver

import (
	"bytes"
	"net"
	"sync"
	"time"
)

// conn is the net.Conn go-smtp serves: the accepted connection, registered
// with the server for Shutdown, with the postmaster rewrite (rewrite.go)
// applied to what the client sends.
type conn struct {
	net.Conn
	s *Server

	busy bool // guarded by s.mu: a mail transaction is in progress

	mu sync.Mutex // guards rw, which sees both directions
	rw rewriter

	// Used by the one goroutine that reads (go-smtp's, or tls.Conn's).
	buf [4096]byte
	in  []byte // read from the network, not yet processed
	out []byte // processed, not yet returned to go-smtp
	err error  // sticky read error, returned once in and out are drained

	closeOnce sync.Once
}

func newConn(nc net.Conn, s *Server) *conn {
	return &conn{Conn: nc, s: s, rw: rewriter{to: []byte("<postmaster@" + s.cfg.Hostname + ">")}}
}

func (c *conn) Read(p []byte) (int, error) {
	for {
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

// go-smtp answers a successful AUTH with enhanced code 2.0.0; RFC 4954 §6
// specifies "235 2.7.0 Authentication Succeeded". go-smtp writes each
// reply line with one Write, so the line is replaced whole.
var (
	goSMTPAuthOK = []byte("235 2.0.0 Authentication succeeded\r\n")
	authOK       = []byte("235 2.7.0 Authentication succeeded\r\n")
)

func (c *conn) Write(p []byte) (int, error) {
	c.mu.Lock()
	c.rw.server(p)
	c.mu.Unlock()
	if bytes.Equal(p, goSMTPAuthOK) {
		if _, err := c.Conn.Write(authOK); err != nil {
			return 0, err
		}
		return len(p), nil
	}
	return c.Conn.Write(p)
}

func (c *conn) Close() error {
	var err error
	c.closeOnce.Do(func() {
		c.s.forget(c)
		err = c.Conn.Close()
	})
	return err
}

// shutdownReply is sent to connections closed by Shutdown (RFC 5321 §3.8).
const shutdownReply = "421 4.3.2 Server shutting down, try again later\r\n"

// closeShutdown tells the client the server is going away and closes the
// connection. It writes to the network directly, not through go-smtp.
func (c *conn) closeShutdown() {
	c.Conn.SetWriteDeadline(time.Now().Add(time.Second))
	c.Conn.Write([]byte(shutdownReply))
	c.Close()
}
