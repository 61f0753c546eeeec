// Package milter is mailroom's client of content filters that speak the
// Sendmail milter protocol (Rspamd's proxy worker with `milter = yes`,
// OpenDKIM, ClamAV's clamav-milter, ...), built on
// github.com/emersion/go-milter.
//
// It knows no SMTP server: the SMTP adapter (smtpserver) opens a Session
// per client connection and asks it at MAIL, RCPT and after the message
// was received; each answer is a Verdict (continue, accept, reject with
// the milter's reply, tempfail, discard, quarantine) and, at the end of
// the message, the message with the milters' header changes applied.
// What the verdict means for the message (Junk for quarantine, nothing
// stored for discard) is decided by the caller and package delivery.
//
// The connection to a milter is opened at the client's first MAIL (the
// connect and HELO stages are sent then), not when the client connects,
// so connections that never send mail cost the milter nothing. A milter
// that cannot be reached or breaks the protocol is the milter's
// on_error: a temporary failure (451 4.7.1, Postfix's
// milter_default_action = tempfail) or, with OnErrorAccept, the milter is
// skipped for the rest of the connection.
package milter

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"time"

	gomilter "github.com/emersion/go-milter"
)

// Defaults for Config.
const (
	DefaultConnectTimeout = 10 * time.Second
	// DefaultCommandTimeout bounds each exchange with the milter,
	// including the scan at the end of the message (Postfix:
	// milter_command_timeout 30 s, milter_content_timeout 300 s).
	DefaultCommandTimeout = 60 * time.Second
	// DefaultMaxHeaderBytes bounds the header bytes one milter may add
	// or change in one message.
	DefaultMaxHeaderBytes = 64 << 10
)

// Config is one milter.
type Config struct {
	// Address is "inet:host:port" or "unix:/path" (Postfix's syntax;
	// "inet6:[addr]:port" too).
	Address        string
	ConnectTimeout time.Duration // default DefaultConnectTimeout
	CommandTimeout time.Duration // default DefaultCommandTimeout
	// OnErrorAccept skips a milter that fails (unreachable, timeout,
	// protocol error) for the rest of the connection; false (the
	// default) answers the client with a temporary failure.
	OnErrorAccept bool
	// SpamHeader names a header field (Rspamd: "X-Spam") that, added
	// or set by this milter with a value starting with "yes" (any case),
	// quarantines the message: Rspamd's "add header" action. "" does
	// nothing.
	SpamHeader string
	// MaxHeaderBytes bounds the header bytes this milter may add or
	// change in one message; over it is a milter error. Default
	// DefaultMaxHeaderBytes.
	MaxHeaderBytes int
}

// ParseAddress splits a milter address into go's network and address.
func ParseAddress(a string) (network, address string, err error) {
	kind, rest, ok := strings.Cut(a, ":")
	if !ok || rest == "" {
		return "", "", fmt.Errorf("milter address %q: want inet:host:port or unix:/path", a)
	}
	switch kind {
	case "inet", "inet6":
		host, port, err := net.SplitHostPort(rest)
		if err != nil || host == "" {
			return "", "", fmt.Errorf("milter address %q: want inet:host:port", a)
		}
		if p, err := strconv.Atoi(port); err != nil || p <= 0 || p > 65535 {
			return "", "", fmt.Errorf("milter address %q: bad port", a)
		}
		return "tcp", rest, nil
	case "unix", "local":
		return "unix", rest, nil
	}
	return "", "", fmt.Errorf("milter address %q: want inet:host:port or unix:/path", a)
}

// Action is what a milter decided.
type Action int

// Actions, in the order of their precedence when milters disagree.
const (
	Continue   Action = iota // go on (no milter objected)
	Accept                   // accept: no further milter calls for the message (or, at connect and HELO, the connection)
	Quarantine               // accept into Junk
	Discard                  // accept and drop silently
	TempFail                 // 4xx
	Reject                   // 5xx
)

func (a Action) String() string {
	switch a {
	case Continue:
		return "continue"
	case Accept:
		return "accept"
	case Quarantine:
		return "quarantine"
	case Discard:
		return "discard"
	case TempFail:
		return "tempfail"
	case Reject:
		return "reject"
	}
	return "unknown"
}

// Verdict is a milter's answer at one stage.
type Verdict struct {
	Action Action
	// Milter is the address of the milter that decided; "" for
	// Continue.
	Milter string
	// Reply is the milter's own reply for Reject and TempFail
	// (SMFIR_REPLYCODE), nil for the default one. Its code's class
	// matches Action.
	Reply *Reply
	// Reason is the quarantine reason, or for a failed milter what
	// failed (for the log, never the client).
	Reason string
}

// Reply is an SMTP reply a milter chose, checked and made safe to send:
// the code is 4xx or 5xx, Enhanced is empty or a matching X.Y.Z, Text is
// printable ASCII without CR/LF, at most maxReplyText bytes.
type Reply struct {
	Code     int
	Enhanced [3]int // zero when the milter gave none
	Text     string
}

func (r *Reply) Error() string {
	return fmt.Sprintf("milter reply %d %v %s", r.Code, r.Enhanced, r.Text)
}

// ErrFailed is the reason of a TempFail verdict that the milter did not
// give but that its failure (with on_error = "tempfail") caused.
var ErrFailed = errors.New("milter: failed")

// ConnInfo describes the client connection to the milters (the connect
// and HELO stages and the macros Rspamd reads).
type ConnInfo struct {
	Hostname string // client's reverse DNS name, or "[ip]"
	IP       net.IP // nil: unknown family
	Port     uint16
	HELO     string
	// Daemon names the listener ("mx", "submission"): {daemon_name}.
	Daemon string
	// OurHostname is this server's name: the j macro.
	OurHostname string
}

// Metrics hears of every verdict other than Continue (*metrics.Metrics).
type Metrics interface {
	MilterVerdict(milter, action string)
}

type nopMetrics struct{}

func (nopMetrics) MilterVerdict(string, string) {}

// Chain is the milters of one listener, applied in order.
type Chain struct {
	milters []*client
	log     *slog.Logger
	metrics Metrics
}

type client struct {
	cfg     Config
	network string
	address string
	c       *gomilter.Client
}

// Actions mailroom lets a milter perform: header changes and quarantine.
// Body replacement and envelope changes are not offered (Rspamd does
// not need them; recipients changed after RCPT would bypass delivery's
// checks).
const offeredActions = gomilter.OptAddHeader | gomilter.OptChangeHeader | gomilter.OptQuarantine

// NewChain returns the chain of cfgs; an invalid address is an error.
// Nil log is slog.Default(), nil m reports nothing.
func NewChain(cfgs []Config, log *slog.Logger, m Metrics) (*Chain, error) {
	if log == nil {
		log = slog.Default()
	}
	if m == nil {
		m = nopMetrics{}
	}
	ch := &Chain{log: log, metrics: m}
	for _, cfg := range cfgs {
		network, address, err := ParseAddress(cfg.Address)
		if err != nil {
			return nil, err
		}
		if cfg.ConnectTimeout <= 0 {
			cfg.ConnectTimeout = DefaultConnectTimeout
		}
		if cfg.CommandTimeout <= 0 {
			cfg.CommandTimeout = DefaultCommandTimeout
		}
		if cfg.MaxHeaderBytes <= 0 {
			cfg.MaxHeaderBytes = DefaultMaxHeaderBytes
		}
		ch.milters = append(ch.milters, &client{
			cfg:     cfg,
			network: network,
			address: address,
			c: gomilter.NewClientWithOptions(network, address, gomilter.ClientOptions{
				Dialer:       &net.Dialer{Timeout: cfg.ConnectTimeout},
				ReadTimeout:  cfg.CommandTimeout,
				WriteTimeout: cfg.CommandTimeout,
				ActionMask:   offeredActions,
			}),
		})
	}
	return ch, nil
}

// Len is the number of milters.
func (ch *Chain) Len() int {
	if ch == nil {
		return 0
	}
	return len(ch.milters)
}

// Begin starts the milter session of one client connection. Nothing is
// sent until the first Mail. Close must be called when the connection
// ends.
func (ch *Chain) Begin(info ConnInfo) *Session {
	s := &Session{ch: ch, info: info}
	for _, m := range ch.milters {
		s.states = append(s.states, &state{m: m})
	}
	return s
}

// Session is the milters' view of one SMTP connection. Its methods are
// called from the connection's goroutine, one at a time.
type Session struct {
	ch     *Chain
	info   ConnInfo
	states []*state
	// queueID is the i macro of the current message.
	queueID string
}

// state is one milter's session.
type state struct {
	m  *client
	cs *gomilter.ClientSession
	// done: the milter accepted the connection (or failed with
	// on_error = accept), or refused it: no more calls. refused holds
	// the verdict that every later MAIL gets.
	done    bool
	refused *Verdict
	// skipMsg: the milter accepted or discarded the current message; no
	// more calls until the next Mail.
	skipMsg bool
	// inMsg: Mail was sent and the message not ended (an Abort is owed
	// on Reset).
	inMsg bool
}

// SetHELO records the client's HELO name before the first Mail.
func (s *Session) SetHELO(helo string) { s.info.HELO = helo }

// Mail opens the milter connections on the first call (connect and HELO
// stages) and sends MAIL FROM. auth is the authenticated user ("" for
// none), queueID names the message in the milters' logs.
func (s *Session) Mail(ctx context.Context, from, auth, queueID string) Verdict {
	s.queueID = queueID
	var final Verdict
	for _, st := range s.states {
		st.skipMsg = false
		if st.done {
			if st.refused != nil {
				return *st.refused
			}
			continue
		}
		if st.cs == nil {
			v := s.open(st)
			if st.done {
				// The milter decided at connect or HELO (or failed
				// with on_error = accept): that holds for the
				// connection.
				if v.Action == Continue || v.Action == Accept {
					continue
				}
				st.refused = &v
				return v
			}
			if v.Action != Continue {
				return v // failed (tempfail): tried again at the next MAIL
			}
		}
		macros := []string{"i", queueID, "{mail_addr}", from}
		if auth != "" {
			macros = append(macros, "{auth_authen}", auth)
		}
		if err := st.cs.Macros(gomilter.CodeMail, macros...); err != nil {
			if v := s.fail(st, err); v.Action != Continue {
				return v
			}
			continue
		}
		act, err := st.cs.Mail(from, nil)
		if err != nil {
			if v := s.fail(st, err); v.Action != Continue {
				return v
			}
			continue
		}
		st.inMsg = true
		v := s.verdict(st, act)
		switch v.Action {
		case Continue:
		case Accept, Discard:
			st.skipMsg, st.inMsg = true, false
			final = worse(final, v)
		default:
			st.inMsg = false
			s.abortOthers(st)
			return v
		}
	}
	return final
}

// open connects to the milter and sends the connect and HELO stages.
func (s *Session) open(st *state) Verdict {
	cs, err := st.m.c.Session()
	if err != nil {
		return s.fail(st, err)
	}
	st.cs = cs
	info := s.info
	family, addr := gomilter.FamilyUnknown, ""
	if ip4 := info.IP.To4(); ip4 != nil {
		family, addr = gomilter.FamilyInet, ip4.String()
	} else if info.IP != nil {
		family, addr = gomilter.FamilyInet6, info.IP.String()
	}
	host := info.Hostname
	if host == "" {
		host = "[" + addr + "]"
	}
	if err := cs.Macros(gomilter.CodeConn, "j", info.OurHostname, "{daemon_name}", info.Daemon, "{client_addr}", addr, "{client_name}", host); err != nil {
		return s.fail(st, err)
	}
	act, err := cs.Conn(host, family, info.Port, addr)
	if err != nil {
		return s.fail(st, err)
	}
	if v := s.verdict(st, act); v.Action != Continue {
		s.closeState(st)
		st.done = true
		return v
	}
	act, err = cs.Helo(info.HELO)
	if err != nil {
		return s.fail(st, err)
	}
	if v := s.verdict(st, act); v.Action != Continue {
		s.closeState(st)
		st.done = true
		return v
	}
	return Verdict{}
}

// Rcpt sends RCPT TO. A Reject or TempFail refuses this recipient only.
func (s *Session) Rcpt(ctx context.Context, to string) Verdict {
	var final Verdict
	for _, st := range s.states {
		if st.done || st.skipMsg || st.cs == nil {
			continue
		}
		if err := st.cs.Macros(gomilter.CodeRcpt, "{rcpt_addr}", to); err != nil {
			if v := s.fail(st, err); v.Action != Continue {
				return v
			}
			continue
		}
		act, err := st.cs.Rcpt(to, nil)
		if err != nil {
			if v := s.fail(st, err); v.Action != Continue {
				return v
			}
			continue
		}
		v := s.verdict(st, act)
		switch v.Action {
		case Continue:
		case Accept, Discard:
			st.skipMsg, st.inMsg = true, false
			final = worse(final, v)
		default:
			// A refused recipient does not end the milter's message
			// (SMFIR_REJECT at RCPT rejects that recipient only).
			return v
		}
	}
	return final
}

// Message sends the message (headers, body in chunks, end of message) to
// each milter in turn, each seeing the message as the ones before it left
// it, and returns the final verdict and the message with the header
// changes applied (raw itself when nothing changed). Quarantine (also
// through SpamHeader) and Discard are verdicts; a Reject or TempFail
// stops the chain.
func (s *Session) Message(ctx context.Context, raw []byte) (Verdict, []byte) {
	var final Verdict
	for _, st := range s.states {
		if st.done || st.skipMsg || st.cs == nil {
			continue
		}
		v, out, err := s.message(st, raw)
		st.inMsg = false
		if err != nil {
			if v := s.fail(st, err); v.Action != Continue {
				return v, raw
			}
			continue
		}
		raw = out
		switch v.Action {
		case Reject, TempFail:
			return v, raw
		}
		final = worse(final, v)
	}
	return final, raw
}

func (s *Session) message(st *state, raw []byte) (Verdict, []byte, error) {
	cs := st.cs
	hdr, body := splitHeader(raw)
	fields := parseFields(hdr)
	if err := cs.Macros(gomilter.CodeHeader, "i", s.queueID); err != nil {
		return Verdict{}, nil, err
	}
	for _, f := range fields {
		act, err := cs.HeaderField(f.name, f.milterValue())
		if err != nil {
			return Verdict{}, nil, err
		}
		if v := s.verdict(st, act); v.Action != Continue {
			return v, raw, nil
		}
	}
	act, err := cs.HeaderEnd()
	if err != nil {
		return Verdict{}, nil, err
	}
	if v := s.verdict(st, act); v.Action != Continue {
		return v, raw, nil
	}
	for rest := body; len(rest) > 0; {
		n := min(len(rest), gomilter.MaxBodyChunk)
		act, err := cs.BodyChunk(rest[:n])
		if err != nil {
			return Verdict{}, nil, err
		}
		rest = rest[n:]
		if act.Code == gomilter.ActSkip {
			break
		}
		if v := s.verdict(st, act); v.Action != Continue {
			return v, raw, nil
		}
	}
	if err := cs.Macros(gomilter.CodeEOB, "i", s.queueID); err != nil {
		return Verdict{}, nil, err
	}
	mods, act, err := cs.End()
	if err != nil {
		return Verdict{}, nil, err
	}
	v := s.verdict(st, act)
	if v.Action == Reject || v.Action == TempFail || v.Action == Discard {
		return v, raw, nil
	}
	// Accept and Continue at the end of the message both accept it.
	v.Action = Continue
	var edits []edit
	spent := 0
	for _, m := range mods {
		switch m.Code {
		case gomilter.ActQuarantine:
			v = worse(v, Verdict{Action: Quarantine, Milter: st.m.cfg.Address, Reason: sanitizeText(m.Reason)})
		case gomilter.ActAddHeader, gomilter.ActInsertHeader, gomilter.ActChangeHeader:
			e, err := newEdit(m)
			if err != nil {
				return Verdict{}, nil, err
			}
			spent += len(e.name) + len(e.value)
			if spent > st.m.cfg.MaxHeaderBytes {
				return Verdict{}, nil, fmt.Errorf("milter: header changes over %d bytes", st.m.cfg.MaxHeaderBytes)
			}
			edits = append(edits, e)
			if sh := st.m.cfg.SpamHeader; sh != "" && strings.EqualFold(e.name, sh) && isYes(e.value) {
				v = worse(v, Verdict{Action: Quarantine, Milter: st.m.cfg.Address, Reason: sh + ": " + sanitizeText(e.value)})
			}
		default:
			// Not offered (offeredActions): a milter that sends it
			// anyway is ignored for that change.
			s.ch.log.Warn("milter: ignored a change that was not offered", "milter", st.m.cfg.Address, "code", string(rune(m.Code)))
		}
	}
	if v.Action == Quarantine {
		s.ch.metrics.MilterVerdict(st.m.cfg.Address, Quarantine.String())
	}
	if len(edits) == 0 {
		return v, raw, nil
	}
	return v, applyEdits(hdr, body, fields, edits), nil
}

// verdict turns a milter's action into a Verdict and counts it.
func (s *Session) verdict(st *state, act *gomilter.Action) Verdict {
	v := Verdict{Milter: st.m.cfg.Address}
	switch act.Code {
	case gomilter.ActContinue, gomilter.ActSkip:
		return Verdict{}
	case gomilter.ActAccept:
		v.Action = Accept
	case gomilter.ActDiscard:
		v.Action = Discard
	case gomilter.ActReject:
		v.Action = Reject
	case gomilter.ActTempFail:
		v.Action = TempFail
	case gomilter.ActReplyCode:
		r := parseReply(act.SMTPCode, act.SMTPText)
		switch {
		case r == nil:
			// A reply code the milter got wrong: refuse, but
			// with our own words.
			v.Action = Reject
			if act.SMTPCode/100 == 4 {
				v.Action = TempFail
			}
		case r.Code/100 == 4:
			v.Action, v.Reply = TempFail, r
		default:
			v.Action, v.Reply = Reject, r
		}
	default:
		v.Action = TempFail
		v.Reason = "unknown action"
	}
	s.ch.metrics.MilterVerdict(st.m.cfg.Address, v.Action.String())
	return v
}

// fail handles a milter that failed: on_error = accept skips it for the
// connection (Continue), tempfail answers TempFail.
func (s *Session) fail(st *state, err error) Verdict {
	s.ch.log.Warn("milter: failed", "milter", st.m.cfg.Address, "err", err, "on_error_accept", st.m.cfg.OnErrorAccept)
	s.closeState(st)
	s.ch.metrics.MilterVerdict(st.m.cfg.Address, "error")
	if st.m.cfg.OnErrorAccept {
		st.done = true
		return Verdict{}
	}
	// Closed but not done: the next MAIL tries the milter again.
	return Verdict{Action: TempFail, Milter: st.m.cfg.Address, Reason: ErrFailed.Error() + ": " + err.Error()}
}

// abortOthers tells the milters before st that the message is over.
func (s *Session) abortOthers(except *state) {
	for _, st := range s.states {
		if st != except && st.inMsg && st.cs != nil {
			if err := st.cs.Abort(); err != nil {
				s.fail(st, err)
			}
			st.inMsg = false
		}
	}
}

// Reset ends the current message for milters still in it (RSET, a
// message refused by the SMTP server).
func (s *Session) Reset() {
	s.abortOthers(nil)
	for _, st := range s.states {
		st.skipMsg = false
	}
}

// Close ends every milter connection.
func (s *Session) Close() {
	for _, st := range s.states {
		s.closeState(st)
	}
}

func (s *Session) closeState(st *state) {
	if st.cs != nil {
		st.cs.Close()
		st.cs = nil
	}
	st.inMsg = false
}

// isYes reports whether a header value starts with "yes" in any case.
func isYes(v string) bool {
	v = strings.TrimSpace(v)
	return len(v) >= 3 && strings.EqualFold(v[:3], "yes")
}

// worse returns the verdict of higher precedence.
func worse(a, b Verdict) Verdict {
	if b.Action > a.Action {
		return b
	}
	return a
}

// maxReplyText bounds the text of a milter's reply.
const maxReplyText = 256

// parseReply checks a milter's SMFIR_REPLYCODE: code 4xx or 5xx, text
// optionally starting with a matching enhanced code. Only the first line
// of a multi-line text is kept. Nil when the code is unusable.
func parseReply(code int, text string) *Reply {
	if code < 400 || code > 599 {
		return nil
	}
	text, _, _ = strings.Cut(text, "\n")
	text = strings.TrimSpace(strings.TrimRight(text, "\r"))
	// A multi-line reply's first line may be "550-5.7.1 ...".
	if len(text) > 4 && text[3] == '-' {
		if c, err := strconv.Atoi(text[:3]); err == nil && c == code {
			text = text[4:]
		}
	}
	r := &Reply{Code: code}
	enh, rest, _ := strings.Cut(text, " ")
	if e, ok := parseEnhanced(enh); ok && e[0] == code/100 {
		r.Enhanced, text = e, rest
	}
	r.Text = sanitizeText(text)
	return r
}

func parseEnhanced(s string) ([3]int, bool) {
	var e [3]int
	parts := strings.Split(s, ".")
	if len(parts) != 3 {
		return e, false
	}
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 || n > 999 || len(p) > 3 {
			return e, false
		}
		e[i] = n
	}
	return e, e[0] == 4 || e[0] == 5
}

// sanitizeText keeps a milter's text printable ASCII on one line.
func sanitizeText(s string) string {
	var b strings.Builder
	for i := 0; i < len(s) && b.Len() < maxReplyText; i++ {
		c := s[i]
		if c < ' ' || c > '~' {
			c = ' '
		}
		b.WriteByte(c)
	}
	return strings.TrimSpace(b.String())
}
