package imapserver

import (
	"errors"
	"strings"
	"time"

	"github.com/mailroom/mailroom/imapserver/imapmsg"
	"github.com/mailroom/mailroom/message"
	"github.com/mailroom/mailroom/store"
)

// cmdAppend: APPEND mailbox [flags] [date-time] literal, repeated for
// MULTIAPPEND (RFC 3502), literal8 for BINARY (RFC 3516); answers
// [APPENDUID] (RFC 4315).
func cmdAppend(c *conn, cmd *command) error {
	if err := c.dec.SP(); err != nil {
		return err
	}
	name, err := c.mailboxArg()
	if err != nil {
		return err
	}
	var msgs []store.NewMessage
	var total int64
	for !c.dec.AtEOL() {
		if err := c.dec.SP(); err != nil {
			return err
		}
		if len(msgs) >= c.lim.MaxAppendMessages {
			return nof(codeLimit, "at most %d messages in one APPEND", c.lim.MaxAppendMessages)
		}
		m, err := c.appendMessage(c.lim.MaxAppendBytes - total)
		if err != nil {
			return err
		}
		total += int64(len(m.Raw))
		msgs = append(msgs, m)
	}
	if err := c.endArgs(); err != nil {
		return err
	}
	if len(msgs) == 0 {
		return badf("", "APPEND needs a message")
	}
	st := c.srv.cfg.Store
	t, err := c.resolveMailbox(name)
	if errors.Is(err, store.ErrNotFound) {
		return nof(codeTryCreate, "no such mailbox")
	} else if err != nil {
		return err
	}
	if err := needRights(t.rights, "i"); err != nil { // RFC 4314 §4
		return err
	}
	if t.owner != "" {
		// Flags the account may not set are left off (RFC 4314 §4).
		for i := range msgs {
			msgs[i].Flags = permittedFlags(t.rights, msgs[i].Flags)
		}
	}
	if err := c.checkQuota(t, int64(len(msgs)), total); err != nil {
		return err
	}
	uidValidity, uids, err := st.Append(c.ctx, t.mb.Ref(), msgs)
	if err != nil {
		return err
	}
	c.okCode = "APPENDUID " + uitoa(uidValidity) + " " + imapmsg.NumSetFromNums(uids).String()
	return nil
}

// appendMessage reads "[flag-list SP] [date-time SP] literal"; the
// message may have at most room bytes (what is left of MaxAppendBytes),
// which is checked before its bytes are read.
func (c *conn) appendMessage(room int64) (store.NewMessage, error) {
	var m store.NewMessage
	if c.dec.PeekIs('(') {
		flags, err := c.flagList()
		if err != nil {
			return m, err
		}
		m.Flags = flags
		if err := c.dec.SP(); err != nil {
			return m, err
		}
	}
	if c.dec.PeekIs('"') {
		s, err := c.dec.Quoted()
		if err != nil {
			return m, err
		}
		t, err := imapmsg.ParseDateTime(s)
		if err != nil {
			return m, badf("", "invalid date-time")
		}
		m.InternalDate = t
		if err := c.dec.SP(); err != nil {
			return m, err
		}
	}
	var raw []byte
	if c.dec.PeekIs('{') || c.dec.PeekIs('~') {
		li, err := c.dec.MessageLiteralHeader(true)
		if err != nil {
			return m, err
		}
		if li.Size > room {
			c.dec.RefuseLiteral(li)
			return m, nof(codeLimit, "too much data in one APPEND")
		}
		if raw, err = c.dec.LiteralBody(li); err != nil {
			return m, err
		}
	} else {
		// CATENATE (RFC 4469), catenate.go.
		word, err := c.dec.Atom()
		if err != nil {
			return m, err
		}
		if !strings.EqualFold(word, "CATENATE") {
			return m, badf("", "expected a literal or CATENATE")
		}
		if err := c.dec.SP(); err != nil {
			return m, err
		}
		if raw, err = c.catenate(room); err != nil {
			return m, err
		}
	}
	if len(raw) == 0 {
		return m, nof(codeCannot, "empty message")
	}
	m.Part = message.Parse(raw)
	// A part holding NUL (possible in a literal8) is stored as base64,
	// so no FETCH BODY ever sends NUL outside a literal8 (RFC 3516 §4.3).
	if enc, changed := imapmsg.EncodeNULParts(raw, m.Part); changed {
		raw = enc
		m.Part = message.Parse(raw)
	}
	m.Raw = raw
	if m.InternalDate.IsZero() {
		m.InternalDate = c.srv.cfg.Now()
	}
	m.InternalDate = m.InternalDate.Round(time.Second)
	return m, nil
}

// flagList reads "(" [flag *(SP flag)] ")".
func (c *conn) flagList() ([]string, error) {
	var flags []string
	err := c.dec.List(func() error {
		f, err := c.dec.AtomFunc("flag", isFlagChar)
		if err != nil {
			return err
		}
		if strings.HasPrefix(f, `\`) && !store.IsSystemFlag(f) && !strings.EqualFold(f, `\Recent`) {
			return badf("", "unknown system flag %s", sanitize(f))
		}
		flags = append(flags, f)
		return nil
	})
	return store.CanonicalFlags(flags), err
}

func uitoa(n uint32) string {
	var b [10]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			return string(b[i:])
		}
	}
}
