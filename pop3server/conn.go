package pop3server

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"runtime/debug"
	"strings"
	"time"

	"github.com/mailroom/mailroom/internal/connserver"
	"github.com/mailroom/mailroom/store"
)

// state is a session state (RFC 1939 §3).
type state int

const (
	stateAuthorization state = iota
	stateTransaction
	stateUpdate
)

func (s state) String() string {
	switch s {
	case stateAuthorization:
		return "AUTHORIZATION"
	case stateTransaction:
		return "TRANSACTION"
	}
	return "UPDATE"
}

// conn is one POP3 session. Only its own goroutine touches its fields,
// except raw, whose deadline Shutdown may move (interrupt) and which it may
// close.
type conn struct {
	srv *Server
	nc  net.Conn // raw, or the *tls.Conn over it after STLS / on POP3S
	raw net.Conn // the TCP connection
	br  *bufio.Reader
	bw  *bufio.Writer
	log *slog.Logger
	ctx context.Context

	state       state
	user        string        // from USER, waiting for PASS
	acct        store.Account // set at login
	drop        *maildrop     // snapshot taken at login
	locked      *int64        // id of the account whose maildrop lock this session holds
	badCommands int           // consecutive bad commands
	done        bool          // close after flushing
	acctState   accountState  // watch on the account, after login (gone.go)
	// partial is the start of a command line whose read was interrupted
	// by a change to the account (watchAccount); the next read goes on.
	partial        []byte
	partialTooLong bool

	idle time.Duration // the server's idle timeout when the connection was accepted
}

func newConn(s *Server, nc net.Conn) *conn {
	raw := nc
	if tc, ok := nc.(*tls.Conn); ok {
		raw = tc.NetConn()
	}
	idle := time.Duration(s.idle.Load())
	return &conn{
		srv:  s,
		idle: idle,
		nc:   nc,
		raw:  raw,
		br:   bufio.NewReader(nc),
		bw:   bufio.NewWriter(deadlineWriter{nc, s.cfg, idle}),
		log:  s.log.With("remote", nc.RemoteAddr().String()),
		ctx:  s.ctx,
	}
}

// deadlineWriter gives every write to the network the idle timeout, so
// that a long RETR to a slow but live client is not cut off while a stalled
// client is.
type deadlineWriter struct {
	nc   net.Conn
	cfg  Config
	idle time.Duration // the connection's idle timeout
}

func (w deadlineWriter) Write(p []byte) (int, error) {
	w.nc.SetWriteDeadline(w.cfg.Now().Add(w.idle))
	return w.nc.Write(p)
}

// Interrupt wakes a session blocked reading a command so that it notices
// the server is shutting down. A session busy with a command finishes it
// first, then sees the flag before reading the next one.
func (c *conn) Interrupt() {
	c.raw.SetReadDeadline(c.srv.cfg.Now())
}

var _ connserver.Conn = (*conn)(nil)

// Abort closes the network connection at once (Shutdown's grace ended).
func (c *conn) Abort() { c.raw.Close() }

// Serve runs the session until it ends (connserver.Conn).
func (c *conn) Serve() {
	defer c.close()
	defer func() {
		if v := recover(); v != nil {
			c.log.Error("panic in POP3 session", "panic", v, "stack", string(debug.Stack()))
			c.bw.Reset(deadlineWriter{c.nc, c.srv.cfg, c.idle}) // drop a half-written response
			c.writeLine(statusErr + " [" + codeSysTemp + "] internal error")
			c.flush()
		}
	}()
	if tc, ok := c.nc.(*tls.Conn); ok {
		if err := c.handshake(tc, "pop3s"); err != nil {
			return
		}
	}
	c.log.Debug("connection opened")
	c.ok("%s POP3 server ready", c.srv.cfg.Hostname)

	for !c.done {
		// PIPELINING (RFC 2449 §6.6): answer everything the client has
		// sent, then flush once before waiting for more.
		if c.br.Buffered() == 0 {
			if err := c.flush(); err != nil {
				return
			}
		}
		waitUntil := c.srv.cfg.Now().Add(c.idle)
		c.nc.SetReadDeadline(waitUntil)
		if c.acctState.changed.Load() {
			// A wake-up (interrupt) that came before the deadline above
			// was set would be lost under it: take it now.
			c.Interrupt()
		}
		if c.srv.conns.Closing() {
			c.err(codeSysTemp, "server shutting down")
			break
		}
		line, err := c.readLine(c.srv.cfg.MaxLineLength)
		gone := false
		for err != nil && errors.Is(err, os.ErrDeadlineExceeded) && !c.srv.conns.Closing() &&
			c.acctState.changed.Load() && c.srv.cfg.Now().Before(waitUntil) {
			// Woken by a change to the account: ended if it is gone,
			// else back to waiting for the rest of the line.
			if gone = c.checkAccount() != nil; gone {
				break
			}
			c.nc.SetReadDeadline(waitUntil)
			line, err = c.readLine(c.srv.cfg.MaxLineLength)
		}
		if !gone && err == nil {
			gone = c.checkAccount() != nil
		}
		if gone {
			// The session's ground is gone: -ERR and close, without
			// UPDATE (RFC 1939 §6 applies to QUIT only).
			c.log.Info("account deleted; closing session", "account", c.acct.Email)
			c.err(codeSysPerm, "account was deleted")
			break
		}
		if err != nil {
			if errors.Is(err, errLineTooLong) {
				c.traceIn("<line too long>")
				c.replyError(err)
				if c.countBad() {
					break
				}
				continue
			}
			c.readFailed(err)
			break
		}
		c.handle(line)
	}
	c.flush()
}

// readFailed handles a failed read of a command line: EOF, timeout or
// shutdown.
func (c *conn) readFailed(err error) {
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded) && c.srv.conns.Closing():
		c.err(codeSysTemp, "server shutting down")
	case errors.Is(err, os.ErrDeadlineExceeded):
		// Autologout timer (RFC 1939 §3): close without UPDATE.
		c.log.Debug("idle timeout")
		c.err("", "autologout: idle for too long")
	case errors.Is(err, io.EOF), errors.Is(err, net.ErrClosed):
		c.log.Debug("connection closed by client")
	default:
		c.log.Debug("read failed", "err", err)
	}
}

func (c *conn) close() {
	if c.acctState.cancel != nil {
		c.acctState.cancel()
	}
	if c.drop != nil {
		c.drop.stopReadAhead()
	}
	c.unlock()
	c.nc.Close()
	c.log.Debug("connection closed")
}

// handle parses and runs one command line.
func (c *conn) handle(line string) {
	cmd, err := parseCommand(line)
	c.traceIn(redact(line))
	if err == nil {
		err = c.dispatch(cmd)
	}
	if err == nil {
		c.badCommands = 0
		return
	}
	if errors.Is(err, errConnGone) {
		c.done = true
		return
	}
	c.replyError(err)
	if isBadCommand(err) {
		c.countBad()
	}
}

// countBad records a bad command and reports whether the session is being
// closed because there were too many in a row.
func (c *conn) countBad() bool {
	c.badCommands++
	if c.badCommands < maxBadCommands {
		return false
	}
	c.log.Info("too many bad commands; closing connection")
	c.err("", "too many bad commands, closing connection")
	c.done = true
	return true
}

func isBadCommand(err error) bool {
	for _, e := range []error{errUnknownCommand, errWrongState, errBadArguments, errLineTooLong, errSyntax} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// dispatch runs cmd if it is valid in the session's state.
func (c *conn) dispatch(cmd command) error {
	authz := c.state == stateAuthorization
	trans := c.state == stateTransaction
	var allowed bool
	var run func(command) error
	switch cmd.name {
	case "CAPA":
		allowed, run = true, c.cmdCapa
	case "QUIT":
		allowed, run = true, c.cmdQuit
	case "STLS":
		allowed, run = authz, c.cmdStls
	case "USER":
		allowed, run = authz, c.cmdUser
	case "PASS":
		allowed, run = authz, c.cmdPass
	case "AUTH":
		allowed, run = authz, c.cmdAuth
	case "STAT":
		allowed, run = trans, c.cmdStat
	case "LIST":
		allowed, run = trans, c.cmdList
	case "UIDL":
		allowed, run = trans, c.cmdUidl
	case "RETR":
		allowed, run = trans, c.cmdRetr
	case "TOP":
		allowed, run = trans, c.cmdTop
	case "DELE":
		allowed, run = trans, c.cmdDele
	case "RSET":
		allowed, run = trans, c.cmdRset
	case "NOOP":
		allowed, run = trans, c.cmdNoop
	default:
		return errUnknownCommand
	}
	if !allowed {
		return errWrongState
	}
	return run(cmd)
}

// replyError sends the one -ERR reply for err; unexpected errors are
// logged, and their text never reaches the client.
func (c *conn) replyError(err error) {
	reply, unexpected := replyFor(err)
	if unexpected {
		c.log.Error("POP3 command failed", "state", c.state.String(), "err", err)
	}
	c.writeLine(statusErr + " " + reply)
}

// readLine reads one line of at most limit octets including its line
// ending (CRLF, or a bare LF from a sloppy client) and returns it without
// the ending. A longer line is consumed and reported as errLineTooLong.
func (c *conn) readLine(limit int) (string, error) {
	line, tooLong := c.partial, c.partialTooLong
	c.partial, c.partialTooLong = nil, false
	for {
		chunk, err := c.br.ReadSlice('\n')
		if !tooLong {
			line = append(line, chunk...)
			if len(line) > limit {
				tooLong, line = true, nil
			}
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				// Keep what came so far: a wake-up (watchAccount) goes
				// on reading the same line.
				c.partial, c.partialTooLong = line, tooLong
			}
			return "", err
		}
		break
	}
	if tooLong {
		return "", errLineTooLong
	}
	line = line[:len(line)-1]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return string(line), nil
}

// flush writes buffered responses.
func (c *conn) flush() error {
	if c.bw.Buffered() == 0 {
		return nil
	}
	err := c.bw.Flush()
	if err != nil {
		c.log.Debug("write failed", "err", err)
		c.done = true
	}
	return err
}

// writeLine buffers one response line. Write errors surface at flush.
func (c *conn) writeLine(s string) {
	c.traceOut(s)
	c.bw.WriteString(s)
	c.bw.WriteString("\r\n")
}

func (c *conn) ok(format string, args ...any) {
	c.writeLine(statusOK + " " + fmt.Sprintf(format, args...))
}

func (c *conn) err(code, text string) {
	c.writeLine(statusErr + " " + (&replyError{code: code, text: text}).Error())
}

// traceIn and traceOut log the wire at debug level.
func (c *conn) traceIn(s string) {
	if c.log.Enabled(c.ctx, slog.LevelDebug) {
		c.log.Debug("C: " + s)
	}
}

func (c *conn) traceOut(s string) {
	if c.log.Enabled(c.ctx, slog.LevelDebug) {
		c.log.Debug("S: " + s)
	}
}

// redact hides credentials in a command line before it is traced: the
// argument of PASS and the initial response of AUTH.
func redact(line string) string {
	if len(line) < 4 {
		return line
	}
	switch strings.ToUpper(line[:4]) {
	case "PASS":
		if len(line) > 4 {
			return line[:4] + " <hidden>"
		}
	case "AUTH":
		f := strings.Fields(line)
		if len(f) > 2 {
			return f[0] + " " + f[1] + " <hidden>"
		}
	}
	return line
}

// plaintextOK reports whether passwords may be sent on this connection:
// over TLS, or where Config.AllowPlaintextAuth allows it.
func (c *conn) plaintextOK() bool {
	return c.isTLS() || c.srv.cfg.AllowPlaintextAuth(c.nc.RemoteAddr())
}

// deadline for one store operation.
func (c *conn) storeCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(c.ctx, time.Minute)
}
