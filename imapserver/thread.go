package imapserver

import (
	"strings"

	"github.com/mailroom/mailroom/imapserver/imapmsg"
	"github.com/mailroom/mailroom/message"
)

// cmdThread: THREAD and UID THREAD (RFC 5256 §3) with the ORDEREDSUBJECT
// and REFERENCES algorithms. The search criteria are SEARCH's; each
// matching message's top-level header is read in SEARCH's bounded
// batches.
func cmdThread(c *conn, cmd *command) error {
	if err := c.dec.SP(); err != nil {
		return err
	}
	alg, err := c.dec.Atom()
	if err != nil {
		return err
	}
	charset, key, err := c.charsetCriteria()
	if err != nil {
		return err
	}
	var thread func([]imapmsg.ThreadMsg) []*imapmsg.ThreadNode
	switch strings.ToUpper(alg) {
	case "ORDEREDSUBJECT":
		thread = imapmsg.ThreadOrderedSubject
	case "REFERENCES":
		thread = imapmsg.ThreadReferences
	default:
		return badf("", "unknown threading algorithm %q (ORDEREDSUBJECT REFERENCES)", alg)
	}
	if err := checkCharset(charset); err != nil {
		return err
	}
	var msgs []imapmsg.ThreadMsg
	err = c.searchMatching(key, readTopHeader, func(m *searchMsg) error {
		head, err := m.Head()
		if err != nil {
			return err
		}
		top, err := m.Top()
		if err != nil {
			return err
		}
		refs := strings.Join(message.HeaderValues(top.Header(head), "References"), " ")
		msgs = append(msgs, imapmsg.NewThreadMsg(m.seq, m.meta.UID, m.meta.InternalDate, top.Envelope, refs))
		return nil
	})
	if err != nil {
		return err
	}
	c.untagged().Raw("THREAD")
	if out := imapmsg.AppendThreads(nil, thread(msgs), cmd.uid); len(out) > 0 {
		c.enc.SP().RawBytes(out)
	}
	c.enc.CRLF()
	return nil
}
