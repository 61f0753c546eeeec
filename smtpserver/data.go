package smtpserver

import (
	"io"
	"time"

	"github.com/mailroom/mailroom/delivery"
	"github.com/mailroom/mailroom/mailauth"
	"github.com/mailroom/mailroom/message"
	"github.com/mailroom/mailroom/milter"
	"github.com/mailroom/mailroom/store"
)

// Data receives the message of a transaction (DATA, RFC 5321 §4.1.1.4, or
// BDAT chunks, RFC 3030), checks it while it streams into a spool
// (spool.go: memory up to SpoolMemoryBytes, an unlinked file past that),
// then, in the commit phase, reads it back into one buffer, adds the trace
// headers in front of it in place, and delivers that one copy to every
// recipient and the outbound queue with one Deliverer.Deliver call (one
// store transaction). Before that, the milters (Config.Filter, filter.go)
// see the assembled message: their refusal is the reply, quarantine
// files it in Junk, discard answers 250 and stores nothing, and their
// header changes are in the stored copy. The commit phase runs under the Budget's commit gate, so that
// only a bounded number of whole messages are in memory at once. Its
// result is the final reply: nil (go-smtp's 250, which conn completes
// with the queue id) only once the store has made the message durable.
func (ss *session) Data(r io.Reader) error {
	err := ss.data(r)
	ss.s.observeTransaction(err)
	return err
}

func (ss *session) data(r io.Reader) error {
	if len(ss.recipients) == 0 {
		return ss.reply(errNoValidRecipients)
	}
	sp := &spool{dir: ss.s.cfg.SpoolDir, memMax: ss.s.cfg.SpoolMemoryBytes}
	defer sp.close()
	err := ss.readMessage(r, sp, ss.tx)
	if err == nil && ss.conn != nil && ss.conn.bareLineEnding() {
		// go-smtp drops ".\r" at the start of a line followed by
		// anything but LF, hiding that bare CR from readMessage; the
		// wire-level check in framing.go sees it.
		err = errBareLineEnding
	}
	if err == nil && sp.size == 0 {
		// "BDAT 0 LAST" as the only chunk, or DATA with nothing
		// before the final dot: not a message (RFC 5322 §3.6 requires
		// at least Date and From).
		err = errEmptyMessage
	}
	if err != nil {
		ss.log.Info("smtp: message refused", "err", err)
		return ss.reply(err)
	}

	dataEnd := time.Now() // for the delivery latency metric
	leave, err := ss.s.cfg.Budget.enterCommit(ss.ctx, sp.size)
	if err != nil {
		return ss.reply(err)
	}
	defer leave()
	now := ss.s.cfg.Now()
	id := ss.id
	if id == "" {
		id = newQueueID()
	}
	raw, signDomain, junk, err := ss.assemble(sp, id, now)
	if err != nil {
		ss.log.Info("smtp: message refused", "id", id, "err", err)
		return ss.reply(err)
	}
	sp.close() // the spool is no longer needed: raw is the one copy
	if ss.filter != nil && !ss.discard {
		// The milters see the message as it will be stored (trace
		// headers included) and may change its header.
		v, out := ss.filter.Message(ss.ctx, raw)
		if err := filterError(v); err != nil {
			ss.log.Info("smtp: message refused by milter", append([]any{"id", id}, filterLog(v)...)...)
			return ss.reply(err)
		}
		switch v.Action {
		case milter.Discard:
			ss.discard = true
		case milter.Quarantine:
			ss.log.Info("smtp: message quarantined by milter", append([]any{"id", id}, filterLog(v)...)...)
			junk = true
		}
		raw = out
	}
	if ss.discard {
		// Postfix's discard: the client is told the message was
		// accepted, and nothing is stored.
		ss.log.Info("smtp: message discarded by milter", "id", id, "from", ss.from, "rcpts", len(ss.recipients))
		if ss.conn != nil {
			ss.conn.noteQueued(id)
		}
		return nil
	}
	msg := store.NewMessage{Raw: raw, Part: message.Parse(raw), InternalDate: now}

	// One transaction for the local copies and the outbound queue entry
	// (package delivery): when it fails nothing was stored, and the
	// client's retry after 451 stores each copy once.
	res, err := ss.s.deliverer.Deliver(ss.ctx, delivery.Envelope{From: ss.from, Recipients: ss.recipients, SignDomain: signDomain, Junk: junk, Submitter: ss.account}, msg)
	if err != nil {
		ss.log.Error("smtp: delivery failed", "id", id, "err", err)
		return ss.reply(err)
	}
	if n := len(res.Delivered); n > 0 {
		ss.s.cfg.Metrics.Delivered(n, int64(len(raw)), time.Since(dataEnd))
	}
	if res.QueueID != 0 {
		ss.log.Info("smtp: queued for relay", "id", id, "qid", res.QueueID, "dkim_domain", signDomain)
	}
	ss.log.Info("smtp: delivered", "id", id, "from", ss.from, "rcpts", len(ss.recipients), "size", len(raw))
	if ss.conn != nil {
		ss.conn.noteQueued(id)
	}
	return nil
}

// headerRoom is the space left in front of the message in its commit
// buffer for the trace headers, so that adding them copies nothing.
const headerRoom = 8 << 10

// assemble reads the spooled message into its commit buffer and returns
// the message to store: trace headers (Return-Path, Received,
// Authentication-Results, in the order of RFC 5321 §4.4) and, for
// submission, the From/Date/Message-ID it lacks, followed by the
// message. For authenticated mail it also checks that the From and
// Sender fields name addresses the user may send as and returns the
// domain to DKIM-sign with; for inbound mail whether it goes to Junk.
func (ss *session) assemble(sp *spool, id string, now time.Time) (raw []byte, signDomain string, junk bool, err error) {
	buf := make([]byte, headerRoom+int(sp.size))
	body := buf[headerRoom:]
	if err := sp.readInto(body); err != nil {
		return nil, "", false, err
	}
	if ss.account != nil {
		if signDomain, err = ss.checkAuthor(body); err != nil {
			return nil, "", false, err
		}
	}
	ar, junk, err := ss.checkInbound(body)
	if err != nil {
		return nil, "", false, err
	}
	if ar != "" {
		// Authentication-Results claiming to be ours came from the
		// sender: remove them. StripForged returns its input when it
		// removes nothing.
		if stripped := mailauth.StripForged(body, ss.s.cfg.Hostname); len(stripped) != len(body) {
			body = stripped
		}
	}
	h := ss.traceHeaders(body, id, now, ar)
	if len(h) <= headerRoom && len(body) > 0 && &body[0] == &buf[headerRoom] {
		start := headerRoom - len(h)
		copy(buf[start:], h)
		return buf[start:], signDomain, junk, nil
	}
	raw = make([]byte, 0, len(h)+len(body))
	return append(append(raw, h...), body...), signDomain, junk, nil
}

// readMessage streams the message into sp, refusing bare CR or LF line
// endings (SMTP smuggling), lines longer than MaxLineLength including
// CRLF (go-smtp checks DATA lines itself but not BDAT chunks), more than
// MaxMessageBytes (go-smtp is set one byte higher, see New) and more
// than the in-flight Budget lets the transaction reserve.
func (ss *session) readMessage(r io.Reader, sp *spool, tx *reservation) error {
	max := ss.lim.MaxMessageBytes
	lc := lineChecker{max: ss.lim.MaxLineLength}
	chunk := make([]byte, 32<<10)
	var firstErr error
	for {
		ss.extendDeadline()
		n, err := r.Read(chunk)
		if n > 0 && firstErr == nil {
			total := sp.size + int64(n)
			switch {
			case total > max:
				firstErr = errMessageTooLarge
			case !tx.ensure(total):
				firstErr = errInFlightBudget
			default:
				if cerr := lc.check(chunk[:n]); cerr != nil {
					firstErr = cerr
				} else if _, werr := sp.Write(chunk[:n]); werr != nil {
					// Most likely a full disk: insufficient storage.
					ss.log.Error("smtp: spooling message", "err", werr)
					firstErr = errInFlightBudget
				}
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		if firstErr != nil {
			// Stop reading: go-smtp discards the rest of DATA, and a
			// BDAT chunk copy fails and is discarded.
			return firstErr
		}
	}
	if firstErr == nil && lc.cr {
		firstErr = errBareLineEnding
	}
	return firstErr
}

// extendDeadline gives the client the session's DataTimeout for each piece of message
// data, however long the whole message takes.
func (ss *session) extendDeadline() {
	switch {
	case ss.conn != nil:
		ss.conn.extendDataDeadline()
	case ss.c != nil:
		ss.c.Conn().SetReadDeadline(time.Now().Add(ss.lim.DataTimeout))
	}
}

// lineChecker checks line endings and lengths across chunk boundaries.
type lineChecker struct {
	max     int  // longest line including CRLF
	lineLen int  // bytes of the current line so far
	cr      bool // the previous byte was CR
}

func (lc *lineChecker) check(p []byte) error {
	for _, b := range p {
		if lc.cr && b != '\n' {
			return errBareLineEnding
		}
		lc.lineLen++
		switch b {
		case '\r':
			lc.cr = true
			continue
		case '\n':
			if !lc.cr {
				return errBareLineEnding
			}
			if lc.lineLen > lc.max {
				return errLineTooLong
			}
			lc.lineLen = 0
		}
		lc.cr = false
		if lc.lineLen > lc.max {
			return errLineTooLong
		}
	}
	return nil
}
