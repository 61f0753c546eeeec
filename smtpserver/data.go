package smtpserver

import (
	"bytes"
	"io"
	"time"

	"github.com/mailroom/mailroom/message"
	"github.com/mailroom/mailroom/store"
)

// Data receives the message of a transaction (DATA, RFC 5321 §4.1.1.4, or
// BDAT chunks, RFC 3030), checks it while it streams in, adds the trace
// headers, and delivers one copy to every recipient's INBOX in a single
// store.Deliver call. Its result is the final reply: 250 naming the queue
// id only once the store has made the message durable.
func (ss *session) Data(r io.Reader) error {
	if len(ss.recipients) == 0 {
		return ss.reply(errNoValidRecipients)
	}
	body, err := ss.readMessage(r)
	if err == nil && ss.conn != nil && ss.conn.bareLineEnding() {
		// go-smtp drops ".\r" at the start of a line followed by
		// anything but LF, hiding that bare CR from readMessage; the
		// wire-level check in rewrite.go sees it.
		err = errBareLineEnding
	}
	if err != nil {
		ss.log.Info("smtp: message refused", "err", err)
		return ss.reply(err)
	}

	now := ss.s.cfg.Now()
	id := newQueueID()
	raw := ss.buildMessage(body, id, now)
	raw, junk, err := ss.checkInbound(body, raw)
	if err != nil {
		ss.log.Info("smtp: message refused", "id", id, "err", err)
		return ss.reply(err)
	}
	msg := store.NewMessage{Raw: raw, Part: message.Parse(raw), InternalDate: now}

	// Remote recipients first: once both the queue and the local copies
	// are durable, 250 covers them all.
	if remote := ss.remoteRecipients(); len(remote) > 0 {
		qid, err := ss.s.cfg.Queue.Enqueue(ss.ctx, ss.from, remote, raw)
		if err != nil {
			ss.log.Error("smtp: enqueue failed", "id", id, "err", err)
			return errInternal
		}
		ss.log.Info("smtp: queued for relay", "id", id, "qid", qid, "rcpts", len(remote))
	}
	targets := make([]store.Target, 0, len(ss.recipients))
	seen := make(map[int64]bool, len(ss.recipients))
	for _, rc := range ss.recipients {
		if rc.remote {
			continue
		}
		if !seen[rc.account.ID] {
			seen[rc.account.ID] = true
			t := store.Target{AccountID: rc.account.ID}
			if junk {
				t = ss.junkTarget(rc.account.ID)
			}
			targets = append(targets, t)
		}
	}
	if len(targets) > 0 {
		if _, err := ss.s.cfg.Store.Deliver(ss.ctx, targets, msg); err != nil {
			ss.log.Error("smtp: delivery failed", "id", id, "err", err)
			return errInternal
		}
	}
	ss.log.Info("smtp: delivered", "id", id, "from", ss.from, "rcpts", len(ss.recipients), "size", len(raw))
	return queuedReply(id)
}

// readMessage reads the whole message, refusing bare CR or LF line
// endings (SMTP smuggling), lines longer than MaxLineLength including
// CRLF (go-smtp checks DATA lines itself but not BDAT chunks) and more
// than MaxMessageBytes (go-smtp stops both DATA and BDAT there; this is a
// second guard so that nothing larger is ever buffered).
func (ss *session) readMessage(r io.Reader) ([]byte, error) {
	max := ss.s.cfg.MaxMessageBytes
	lc := lineChecker{max: ss.s.cfg.MaxLineLength}
	var buf bytes.Buffer
	chunk := make([]byte, 32<<10)
	var firstErr error
	for {
		ss.extendDeadline()
		n, err := r.Read(chunk)
		if n > 0 && firstErr == nil {
			if int64(buf.Len()+n) > max {
				firstErr = errMessageTooLarge
			} else if cerr := lc.check(chunk[:n]); cerr != nil {
				firstErr = cerr
			} else {
				buf.Write(chunk[:n])
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		if firstErr != nil {
			// Stop reading: go-smtp discards the rest of DATA, and a
			// BDAT chunk copy fails and is discarded.
			return nil, firstErr
		}
	}
	if firstErr == nil && lc.cr {
		firstErr = errBareLineEnding
	}
	if firstErr != nil {
		return nil, firstErr
	}
	return buf.Bytes(), nil
}

// extendDeadline gives the client DataTimeout for each piece of message
// data, however long the whole message takes.
func (ss *session) extendDeadline() {
	if ss.c == nil {
		return
	}
	ss.c.Conn().SetReadDeadline(time.Now().Add(ss.s.cfg.DataTimeout))
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
