package imapserver

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mailroom/mailroom/imapserver/imapwire"
	"github.com/mailroom/mailroom/store"
)

type connState int

const (
	stateNotAuth connState = iota
	stateAuth
	stateSelected
	stateLogout
)

// conn is one client connection; all its fields belong to its goroutine,
// except raw and cancel, which Shutdown uses, and pendingMu, pending,
// events, wakeMu and idling, which the change feed callback uses.
type conn struct {
	srv    *Server
	nc     net.Conn      // raw, or the *tls.Conn over it (STARTTLS, IMAPS)
	raw    net.Conn      // the TCP connection
	br     *bufio.Reader // nil while lent back to the pool in IDLE
	bw     *bufio.Writer // nil while lent back to the pool in IDLE
	out    io.Writer     // what bw writes to
	dec    *imapwire.Decoder
	enc    *imapwire.Encoder
	log    *slog.Logger
	ctx    context.Context
	cancel context.CancelFunc // set once; Shutdown may call it

	state connState
	acct  store.Account

	// ENABLEd extensions (RFC 5161).
	rev2, condstore, qresync bool
	// condstoreBefore: whether CONDSTORE was on when the current command
	// started, to tell a CONDSTORE enabling command (RFC 7162 §3.1).
	condstoreBefore bool

	// The account's change feed, after login: onChange records the
	// mailbox of a pending change in pending (0: any; noChange: none) and,
	// while idling, interrupts the connection's read. wakeMu guards idling
	// so that no interruption lands after IDLE has ended.
	// ioErr is the last error of a read or write on the client
	// connection (clientReader, deadlineWriter); reset at each command.
	ioErr error
	// then is a literal for deadlineWriter to send right after the bytes
	// it is given, in one writev (literal); gather holds both meanwhile.
	then   []byte
	gather [2][]byte

	// pendingMu orders the feed callback's updates of pending and events
	// with tookOwnWrite's look at both; pending is read without it.
	pendingMu   sync.Mutex
	pending     atomic.Int64
	events      uint64 // changes the feed reported, under pendingMu
	notifiedAt  uint64 // Server.indexes.Tick at the last change reported, under pendingMu
	wakeMu      sync.Mutex
	idling      bool
	one         [1]byte // IDLE's read buffer
	cancelWatch func()
	// The feed of the account owning the selected shared mailbox
	// (shared.go): its id, the mailbox, and the subscription's end.
	sharedOwner   int64
	sharedMailbox atomic.Int64
	cancelShared  func()
	sel           *view // selected mailbox
	// NOTIFY (notify.go): what the client asked for, and the mailboxes
	// the feed reported changed since the last push (all: any may have),
	// under pendingMu.
	notify      *notifyState
	notifyDirty map[int64]bool
	notifyAll   bool
	notifyMeta  []store.Change // metadata changes not yet pushed (bounded)
	ownMeta     *store.Change  // the session's own SETMETADATA under way
	// notifyWake: a change only NOTIFY reports (metadata) waits; it
	// wakes IDLE and the wait between commands as pending does.
	notifyWake atomic.Bool
	// goneChecked is when checkGone last found the account and the
	// selected mailbox in place.
	goneChecked time.Time
	// goneHighest is the selected mailbox's HIGHESTMODSEQ as checkGone
	// last read it: above the session's own, a change reached no feed of
	// this process (another process on the same SQLite file, such as
	// mailroom import) and sync asks the store for it.
	goneHighest uint64

	searchKeyCount int // keys of the SEARCH program being parsed

	trace   []byte // the current command line, when tracing
	tracing bool

	// okCode is a response code for the tagged OK of the current command.
	okCode string
	// startTLS is set by STARTTLS: the handshake follows its tagged OK.
	startTLS bool
	// compress is set by COMPRESS: DEFLATE starts after its tagged OK.
	compress bool
	// block is the waiting part of a command that returned errBlock.
	block func() error
	// IDLE's autologout time and the part of its DONE line read so far.
	idleDeadline time.Time
	idleLine     []byte

	lim Limits // the server's limits when the connection was accepted

	// connLog is log before login added the account (UNAUTHENTICATE).
	connLog *slog.Logger
}

func newConn(s *Server, nc net.Conn) *conn {
	c := &conn{srv: s, nc: nc, raw: nc, lim: *s.limits.Load()}
	c.pending.Store(noChange)
	if tc, ok := nc.(*tls.Conn); ok {
		c.raw = tc.NetConn()
	}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	c.log = s.log.With("remote", nc.RemoteAddr().String(), "proto", "imap")
	c.connLog = c.log
	c.tracing = c.log.Enabled(context.Background(), slog.LevelDebug)
	c.setIO(nc)
	return c
}

// setIO (re)builds the buffered reader, decoder, writer and encoder over
// nc: at the start, and after STARTTLS, when whatever the plaintext reader
// still buffered is thrown away.
func (c *conn) setIO(nc net.Conn) {
	s := c.srv
	c.nc = nc
	c.out = deadlineWriter{c}
	if c.tracing {
		c.out = &traceWriter{w: c.out, log: c.log}
	}
	if c.br != nil {
		c.br.Reset(nil)
		s.readers.Put(c.br)
	}
	if c.bw != nil {
		c.bw.Reset(nil)
		s.writers.Put(c.bw)
		s.writersOut.Add(-1)
	}
	c.br, c.bw = nil, nil
	c.getReader()
	c.getWriter()
	c.dec = imapwire.NewDecoder(c.br)
	c.setLimits()
	c.dec.Continue = func() error {
		c.nc.SetReadDeadline(time.Now().Add(c.timeout()))
		c.enc.Raw("+ Ready for literal data\r\n")
		return c.flush()
	}
	if c.tracing {
		c.dec.Trace = &c.trace
	}
	c.enc = imapwire.NewEncoder(c.bw)
}

// setLimits sets the decoder's bounds for the connection's state: before
// login only small commands and literals (preAuthMaxCommand), after it the
// configured ones.
func (c *conn) setLimits() {
	cfg := &c.lim
	if c.state == stateNotAuth {
		c.dec.MaxLineLength = min(cfg.MaxLineLength, preAuthMaxCommand)
		c.dec.MaxLiteralSize = min(cfg.MaxLiteralSize, preAuthMaxCommand)
		c.dec.MaxCommandSize = preAuthMaxCommand
		return
	}
	c.dec.MaxLineLength = cfg.MaxLineLength
	c.dec.MaxLiteralSize = cfg.MaxLiteralSize
	c.dec.MaxCommandSize = cfg.MaxCommandSize
}

type traceWriter struct {
	w   io.Writer
	log *slog.Logger
}

func (t *traceWriter) Write(b []byte) (int, error) {
	s := string(b)
	if len(s) > 512 {
		s = s[:512] + "..."
	}
	t.log.Debug("imap trace", "dir", "S", "data", s)
	return t.w.Write(b)
}

func (c *conn) timeout() time.Duration {
	if c.state == stateNotAuth {
		return min(c.lim.IdleTimeout, preAuthTimeout)
	}
	return c.lim.IdleTimeout
}

func (c *conn) flush() error { return c.enc.Flush() }

// deadlineWriter refreshes the write deadline before every network write,
// so a long FETCH to a slow client is bounded per write, not in total. It
// records the client connection's errors (see clientGone).
type deadlineWriter struct{ c *conn }

func (w deadlineWriter) Write(b []byte) (int, error) {
	w.c.nc.SetWriteDeadline(time.Now().Add(writeTimeout))
	if w.c.then != nil {
		return w.writeThen(b)
	}
	n, err := w.c.nc.Write(b)
	if err != nil {
		w.c.ioErr = err
	}
	return n, err
}

// buffersWriter is a connection that wraps a TCP connection and passes
// net.Buffers on to it, so that they go out with one writev
// (internal/connlimit's).
type buffersWriter interface {
	WriteBuffers(*net.Buffers) (int64, error)
}

// writeThen writes b and then the connection's pending literal (then)
// with one writev; it reports b written only when both are.
func (w deadlineWriter) writeThen(b []byte) (int, error) {
	c := w.c
	c.gather = [2][]byte{b, c.then}
	c.then = nil
	bufs := net.Buffers(c.gather[:])
	var n int64
	var err error
	if bw, ok := c.nc.(buffersWriter); ok {
		n, err = bw.WriteBuffers(&bufs)
	} else {
		n, err = bufs.WriteTo(c.nc) // writev on TCP; on TLS, one Write each
	}
	c.gather = [2][]byte{}
	if err != nil {
		c.ioErr = err
		return int(min(n, int64(len(b)))), err
	}
	return len(b), nil
}

// literal writes data as an IMAP literal. One whose rest, after what the
// write buffer has left, would not fit in the buffer either goes to the
// network with the bytes buffered before it (the response up to the
// literal's "{n}") in one writev: through the buffered writer it took two
// writes, the buffer filled with the literal's start and then the rest,
// so a FETCH BODY[] of a message over 4 KiB took three with the tagged
// OK. A shorter one is buffered as before (one write, its end sent with
// what follows). Traced connections keep the buffered path (the trace
// sees what is written).
func (c *conn) literal(data []byte) {
	if _, direct := c.out.(deadlineWriter); !direct || len(data)-c.bw.Available() < c.bw.Size() {
		c.enc.Literal(data)
		return
	}
	c.enc.LiteralPrefix(len(data))
	c.then = data
	c.enc.Flush()
	if c.then != nil { // not written: an earlier error, or nothing buffered
		c.then = nil
		c.enc.RawBytes(data)
	}
}

// clientReader is what the connection's buffered reader reads from: the
// client connection, whose errors it records (see clientGone).
type clientReader struct{ c *conn }

func (r clientReader) Read(b []byte) (int, error) {
	n, err := r.c.nc.Read(b)
	if err != nil {
		r.c.ioErr = err
	}
	return n, err
}

// clientLeft reports, without waiting and without consuming input,
// whether the client has closed its connection (or it failed): long
// commands ask it now and then, so that they stop when nobody is
// listening any more. Pipelined input stays buffered for the next command.
func (c *conn) clientLeft() bool {
	if c.br == nil || c.br.Buffered() > 0 {
		return false
	}
	c.nc.SetReadDeadline(time.Now())
	_, err := c.br.Peek(1)
	c.nc.SetReadDeadline(time.Now().Add(c.timeout()))
	if err == nil || isTimeout(err) {
		c.ioErr = nil
		return false
	}
	return true
}

// clientGone reports whether err comes from the client connection (a
// read or write on it failed or timed out), after which the session ends.
// It is decided by where the error happened, not by its type: a store
// error can be a *net.OpError too (a database that cannot be dialled), and
// must get NO [UNAVAILABLE] with the session kept (issue 11, item 17).
func (c *conn) clientGone(err error) bool {
	if err == nil || c.ioErr == nil {
		return false
	}
	// io.ReadFull turns the connection's io.EOF into io.ErrUnexpectedEOF.
	return errors.Is(err, c.ioErr) || errors.Is(err, io.ErrUnexpectedEOF) && errors.Is(c.ioErr, io.EOF)
}

var errShutdown = errors.New("imapserver: shutting down")

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// isProtocolError reports an error after which the command stream can be
// resynchronized: the connection survives.
func isProtocolError(err error) bool {
	var se *imapwire.SyntaxError
	var lt *imapwire.LiteralTooBigError
	var re *respError
	return errors.As(err, &se) || errors.As(err, &lt) || errors.As(err, &re) ||
		errors.Is(err, imapwire.ErrLineTooLong) || errors.Is(err, imapwire.ErrCommandTooBig)
}

// byeError ends the connection after "* BYE [code] text" instead of a
// tagged reply.
type byeError struct{ code, text string }

func (e *byeError) Error() string { return "imapserver: BYE [" + e.code + "] " + e.text }

// preAuthLiteralTooBig reports a refused non-synchronizing literal before
// login, which ends the connection: its bytes are on their way, and
// reading them only to throw them away is what the bound is there to
// prevent (RFC 7888 §4 allows closing; Dovecot's imap-login does the same).
func (c *conn) preAuthLiteralTooBig(err error) bool {
	var lt *imapwire.LiteralTooBigError
	return c.state == stateNotAuth && errors.As(err, &lt) && lt.NonSync
}

// command reads and executes one command. It returns an error only when the
// connection must end.
func (c *conn) command() error {
	if c.srv.shuttingDown() {
		return errShutdown
	}
	c.nc.SetReadDeadline(time.Now().Add(c.timeout()))
	if c.srv.shuttingDown() {
		return errShutdown
	}
	c.trace = c.trace[:0]
	c.okCode = ""
	c.ioErr = nil // an error of the connection ended the last command's session, or was a wake-up
	if c.notify != nil {
		if err := c.notifyWait(); err != nil {
			return err
		}
	}
	c.dec.BeginCommand()
	tag, err := c.dec.AtomFunc("tag", isTagChar)
	if err != nil {
		if !isProtocolError(err) {
			return err
		}
		// Tolerate empty lines; anything else is a tagless BAD.
		if c.dec.AtEOL() {
			return c.dec.CRLF()
		}
		c.enc.Raw("* BAD [CLIENTBUG] missing tag\r\n")
		return c.afterError()
	}
	name, err := c.readCommandName()
	if err != nil {
		if !isProtocolError(err) {
			return err
		}
		c.writeStatus(tag, err)
		return c.afterError()
	}
	h, ok := commands[name]
	var cmdErr error
	start := time.Now()
	switch {
	case !ok:
		cmdErr = badf("", "unknown command %s", sanitize(name))
	case h.states&(1<<c.state) == 0:
		cmdErr = badf("", "%s not allowed in this state", name)
	default:
		c.condstoreBefore = c.condstore
		if cmdErr = c.beforeCommand(name, h); cmdErr == nil {
			cmdErr = c.run(h, &command{tag: tag, name: name, uid: strings.HasPrefix(name, "UID ")})
		}
	}
	if ok { // names from the command table only: bounded metric labels
		c.observeCommand(name, cmdErr, start)
	}
	if cmdErr == errBlock {
		go c.serve(c.resumeBlocked(tag, name, h))
		return errMoved
	}
	return c.finish(tag, name, h, cmdErr)
}

// finish ends a command: untagged updates, the tagged status, and a flush.
func (c *conn) finish(tag, name string, h handler, cmdErr error) error {
	if c.tracing {
		c.traceCommand(name)
	}
	if cmdErr != nil && (errors.Is(cmdErr, errShutdown) || c.clientGone(cmdErr) || isSessionGone(cmdErr)) {
		return cmdErr
	}
	if c.preAuthLiteralTooBig(cmdErr) {
		cmdErr = &byeError{code: codeTooBig, text: "literal too big before login"}
	}
	var bye *byeError
	if errors.As(cmdErr, &bye) {
		c.enc.Raw("* BYE [").Raw(bye.code).Raw("] ").Raw(bye.text).CRLF()
		c.flush()
		return cmdErr
	}
	if c.state == stateSelected || c.state == stateAuth {
		err := c.sync(h.expungeOK)
		if err == nil && errors.Is(cmdErr, store.ErrNotFound) {
			// A store call may have failed because the selected mailbox
			// or the account is gone, before the change feed said so.
			err = c.checkGone()
		}
		if err != nil {
			if c.clientGone(err) || isSessionGone(err) {
				return err
			}
			c.log.Error("imap sync", "err", err)
		}
		if err == nil {
			if err := c.notifyPush(); err != nil {
				c.log.Error("imap notify", "err", err)
			}
		}
		if err == nil && cmdErr == nil && name != "SELECT" && name != "EXAMINE" {
			c.reportHighestModSeq(!c.condstoreBefore && c.condstore)
			if c.sel != nil && strings.HasPrefix(c.okCode, codeHighestModSeq+" ") && len(c.sel.expunged) == 0 {
				// EXPUNGE's tagged HIGHESTMODSEQ (RFC 7162 §3.2.10)
				// counts the changes the sync above announced too, so
				// it never goes below an untagged one just sent.
				c.okCode = codeHighestModSeq + " " + uitoa64(int64(c.sel.modseq))
				c.sel.sentHighest = c.sel.modseq
			}
		}
	}
	c.writeStatus(tag, cmdErr)
	if cmdErr != nil {
		return c.afterError()
	}
	if c.startTLS {
		c.startTLS = false
		if err := c.flush(); err != nil {
			return err
		}
		return c.upgradeTLS()
	}
	if c.compress {
		c.compress = false
		if err := c.flush(); err != nil {
			return err
		}
		c.startCompress()
		return nil
	}
	return c.flush()
}

// run calls a handler, recovering from a panic as a server bug.
func (c *conn) run(h handler, cmd *command) (err error) {
	defer func() {
		if v := recover(); v != nil {
			c.log.Error("panic in imap command", "cmd", cmd.name, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			err = errServerBug
		}
	}()
	return h.fn(c, cmd)
}

var errServerBug = errors.New("imapserver: server bug")

// afterError resynchronizes the command stream and flushes.
func (c *conn) afterError() error {
	if err := c.dec.Discard(); err != nil {
		return err
	}
	return c.flush()
}

func (c *conn) traceCommand(name string) {
	line := string(c.trace)
	if name == "LOGIN" || name == "AUTHENTICATE" {
		if i := strings.IndexByte(line, ' '); i >= 0 {
			line = line[:i] + " " + name + " ***"
		}
	}
	c.log.Debug("imap trace", "dir", "C", "data", line)
}

func (c *conn) readCommandName() (string, error) {
	if err := c.dec.SP(); err != nil {
		return "", err
	}
	name, err := c.dec.Atom()
	if err != nil {
		return "", err
	}
	name = strings.ToUpper(name)
	if name == "UID" {
		if err := c.dec.SP(); err != nil {
			return "", err
		}
		sub, err := c.dec.Atom()
		if err != nil {
			return "", err
		}
		name += " " + strings.ToUpper(sub)
	}
	return name, nil
}

// isTagChar: tag = 1*<any ASTRING-CHAR except "+">.
func isTagChar(b byte) bool { return b != '+' && (imapwire.IsAtomChar(b) || b == ']') }

func sanitize(s string) string {
	if len(s) > 32 {
		s = s[:32]
	}
	return s
}

// endArgs consumes the end of the command line.
func (c *conn) endArgs() error { return c.dec.CRLF() }

// writeStatus writes the tagged completion of a command.
func (c *conn) writeStatus(tag string, err error) {
	if err == nil {
		c.enc.Raw(tag).Raw(" OK ")
		if c.okCode != "" {
			c.enc.Raw("[").Raw(c.okCode).Raw("] ")
		}
		c.enc.Raw("completed\r\n")
		return
	}
	r := c.toResponse(err)
	c.enc.Raw(tag).SP().Raw(r.status).SP()
	if r.code != "" {
		c.enc.Raw("[").Raw(r.code).Raw("] ")
	}
	c.enc.Raw(r.text).CRLF()
}

// untagged starts an untagged response line "* ".
func (c *conn) untagged() *imapwire.Encoder { return c.enc.Raw("* ") }
