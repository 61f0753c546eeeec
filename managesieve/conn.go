package managesieve

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
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

// conn is one ManageSieve session. Only its goroutine touches its fields,
// except raw, whose deadline Shutdown may move and which it may close.
type conn struct {
	srv *Server
	nc  net.Conn // raw, or the *tls.Conn over it after STARTTLS
	raw net.Conn
	r   reader
	bw  *bufio.Writer
	log *slog.Logger
	ctx context.Context

	lim         Limits         // the server's when the connection was accepted
	acct        *store.Account // set once authenticated
	badCommands int
	done        bool
}

func newConn(s *Server, nc net.Conn) *conn {
	lim := *s.limits.Load()
	return &conn{
		srv: s,
		nc:  nc,
		raw: nc,
		lim: lim,
		r:   reader{br: bufio.NewReader(nc)},
		bw:  bufio.NewWriter(deadlineWriter{nc, s.cfg.Now, lim.IdleTimeout}),
		log: s.log.With("remote", nc.RemoteAddr().String()),
		ctx: s.ctx,
	}
}

// deadlineWriter gives every write the idle timeout.
type deadlineWriter struct {
	nc      net.Conn
	now     func() time.Time
	timeout time.Duration
}

func (w deadlineWriter) Write(p []byte) (int, error) {
	w.nc.SetWriteDeadline(w.now().Add(w.timeout))
	return w.nc.Write(p)
}

// Interrupt wakes a session blocked reading a command (Shutdown).
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
			c.log.Error("panic in ManageSieve session", "panic", v, "stack", string(debug.Stack()))
			c.bw.Reset(deadlineWriter{c.nc, c.srv.cfg.Now, c.lim.IdleTimeout}) // drop a half-written response
			c.bye("", "internal error")
			c.bw.Flush()
		}
	}()
	c.log.Debug("connection opened")
	c.writeCapabilities()
	c.ok("", c.srv.cfg.Hostname+" ManageSieve ready")
	for !c.done {
		if c.r.br.Buffered() == 0 {
			if err := c.flush(); err != nil {
				return
			}
		}
		timeout, lim := c.limits()
		c.nc.SetReadDeadline(c.srv.cfg.Now().Add(timeout))
		if c.srv.conns.Closing() {
			c.bye(codeTryLater, "server shutting down")
			break
		}
		cmd, err := c.r.readCommand(lim)
		if err != nil {
			var ne *noError
			if errors.As(err, &ne) {
				c.traceIn("<bad command>")
				c.respond(err)
				continue
			}
			c.readFailed(err)
			break
		}
		c.handle(cmd)
	}
	c.flush()
}

// limits are the idle timeout and the wire limits of the session's
// state: tight before authentication.
func (c *conn) limits() (time.Duration, wireLimits) {
	if c.acct == nil {
		return c.srv.cfg.preAuthTimeout, wireLimits{line: preAuthMaxLine, literal: preAuthMaxLiteral}
	}
	return c.lim.IdleTimeout, wireLimits{line: c.lim.MaxLineLength, literal: c.lim.MaxScriptSize, skipBig: true}
}

func (c *conn) readFailed(err error) {
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded) && c.srv.conns.Closing():
		c.bye(codeTryLater, "server shutting down")
	case errors.Is(err, os.ErrDeadlineExceeded):
		c.log.Debug("idle timeout")
		c.bye("", "idle for too long")
	case errors.Is(err, errFatal):
		c.log.Info("unreadable command; closing connection")
		c.bye("", "malformed or too large command")
	case errors.Is(err, io.EOF), errors.Is(err, net.ErrClosed):
		c.log.Debug("connection closed by client")
	default:
		c.log.Debug("read failed", "err", err)
	}
}

func (c *conn) close() {
	c.nc.Close()
	c.log.Debug("connection closed")
}

func (c *conn) handle(cmd *command) {
	c.traceIn(redact(cmd))
	if cmd.name == "" {
		c.respond(errSyntax)
		return
	}
	err := c.dispatch(cmd)
	if err == nil {
		c.badCommands = 0
		return
	}
	if errors.Is(err, errConnGone) {
		c.done = true
		return
	}
	c.respond(err)
}

// handler runs one command; auth tells the state it is valid in.
type handler struct {
	run  func(*conn, *command) error
	auth int // 0 before authentication, 1 after, 2 both
}

const (
	stateNonAuth = iota
	stateAuth
	stateAny
)

var handlers = map[string]handler{
	"CAPABILITY":     {cmdCapability, stateAny},
	"LOGOUT":         {cmdLogout, stateAny},
	"NOOP":           {cmdNoop, stateAny},
	"STARTTLS":       {cmdStartTLS, stateNonAuth},
	"AUTHENTICATE":   {cmdAuthenticate, stateNonAuth},
	"UNAUTHENTICATE": {cmdUnauthenticate, stateAuth},
	"LISTSCRIPTS":    {cmdListScripts, stateAuth},
	"GETSCRIPT":      {cmdGetScript, stateAuth},
	"PUTSCRIPT":      {cmdPutScript, stateAuth},
	"CHECKSCRIPT":    {cmdCheckScript, stateAuth},
	"SETACTIVE":      {cmdSetActive, stateAuth},
	"DELETESCRIPT":   {cmdDeleteScript, stateAuth},
	"RENAMESCRIPT":   {cmdRenameScript, stateAuth},
	"HAVESPACE":      {cmdHaveSpace, stateAuth},
}

func (c *conn) dispatch(cmd *command) error {
	h, ok := handlers[cmd.name]
	if !ok {
		return errUnknownCommand
	}
	authed := c.acct != nil
	if h.auth == stateNonAuth && authed || h.auth == stateAuth && !authed {
		return errWrongState
	}
	return h.run(c, cmd)
}

// respond sends the one NO for err (and counts bad commands): the one
// place errors become responses. Unexpected errors are logged; their
// text never reaches the client.
func (c *conn) respond(err error) {
	code, text, unexpected := replyFor(err)
	if unexpected {
		c.log.Error("ManageSieve command failed", "err", err)
	}
	c.no(code, text)
	if isBad(err) {
		c.badCommands++
		if c.badCommands >= maxBadCommands {
			c.log.Info("too many bad commands; closing connection")
			c.bye("", "too many bad commands")
			c.done = true
		}
	}
}

// Responses (RFC 5804 §1.2): OK / NO / BYE, an optional (code), an
// optional human-readable string.
func (c *conn) ok(code, text string)  { c.status("OK", code, text) }
func (c *conn) no(code, text string)  { c.status("NO", code, text) }
func (c *conn) bye(code, text string) { c.status("BYE", code, text) }

func (c *conn) status(kind, code, text string) {
	line := kind
	if code != "" {
		line += " (" + code + ")"
	}
	if text != "" {
		line += " " + quoteString(text)
	}
	c.writeLine(line)
}

func (c *conn) writeLine(s string) {
	c.traceOut(s)
	c.bw.WriteString(s)
	c.bw.WriteString("\r\n")
}

func (c *conn) flush() error {
	if c.bw.Buffered() == 0 {
		return nil
	}
	if err := c.bw.Flush(); err != nil {
		c.log.Debug("write failed", "err", err)
		c.done = true
		return err
	}
	return nil
}

func (c *conn) traceIn(s string) {
	if c.log.Enabled(c.ctx, slog.LevelDebug) {
		c.log.Debug("C: " + s)
	}
}

func (c *conn) traceOut(s string) {
	if c.log.Enabled(c.ctx, slog.LevelDebug) {
		if len(s) > 200 {
			s = s[:200] + "..."
		}
		c.log.Debug("S: " + s)
	}
}

// redact shows a command for the trace without credentials or script
// bodies.
func redact(cmd *command) string {
	parts := []string{cmd.name}
	for i, a := range cmd.args {
		switch {
		case cmd.name == "AUTHENTICATE" && i > 0:
			parts = append(parts, "<hidden>")
		case (cmd.name == "PUTSCRIPT" && i == 1) || cmd.name == "CHECKSCRIPT":
			parts = append(parts, "<script>")
		default:
			parts = append(parts, quoteString(a.val))
		}
	}
	return strings.Join(parts, " ")
}

// plaintextOK reports whether passwords may be sent on this connection.
func (c *conn) plaintextOK() bool {
	return c.isTLS() || c.srv.cfg.AllowPlaintextAuth(c.nc.RemoteAddr())
}

func (c *conn) isTLS() bool {
	_, ok := c.nc.(*tls.Conn)
	return ok
}

func (c *conn) tlsState() *tls.ConnectionState {
	tc, ok := c.nc.(*tls.Conn)
	if !ok {
		return nil
	}
	st := tc.ConnectionState()
	return &st
}

// storeCtx bounds one store operation.
func (c *conn) storeCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(c.ctx, time.Minute)
}

// stringArgs checks that cmd has exactly n string arguments (quoted or
// literal) and returns them.
func stringArgs(cmd *command, n int) ([]string, error) {
	if len(cmd.args) != n {
		return nil, errBadArguments
	}
	out := make([]string, n)
	for i, a := range cmd.args {
		if a.atom {
			return nil, errBadArguments
		}
		out[i] = a.val
	}
	return out, nil
}
