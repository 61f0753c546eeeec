package imapserver

import (
	"errors"
	"strings"

	"github.com/mailroom/mailroom/imapserver/imapmsg"
	"github.com/mailroom/mailroom/message"
	"github.com/mailroom/mailroom/store"
)

const codeBadURL = "BADURL" // RFC 4469 §6

// CATENATE (RFC 4469): an APPEND (or MULTIAPPEND, or REPLACE) message made
// of TEXT literals and URL parts, "CATENATE (TEXT {n} URL "..." ...)".
// A URL names a message, or a section of one, of the logged-in account
// only: "imap:///mailbox[;UIDVALIDITY=n]/;UID=n[/;SECTION=x]" or the same
// from "/mailbox" on (RFC 5092 syntax); any other URL (another server or
// user, PARTIAL, URLAUTH, a missing message) is NO [BADURL url]. The parts
// together are bounded by what is left of MaxAppendBytes, each checked
// before its bytes are read; a URL's whole message must fit
// MaxAppendBytes, since it is read to cut the section from it. The
// messages of a MULTIAPPEND are all built before the one store.Append
// call, so they are stored all or none.

// catenate reads "(" cat-part *(SP cat-part) ")" after "CATENATE SP" and
// returns the message it builds, of at most room bytes.
func (c *conn) catenate(room int64) ([]byte, error) {
	var buf []byte
	n := 0
	err := c.dec.List(func() error {
		n++
		kind, err := c.dec.Atom()
		if err != nil {
			return err
		}
		if err := c.dec.SP(); err != nil {
			return err
		}
		left := room - int64(len(buf))
		switch strings.ToUpper(kind) {
		case "TEXT":
			li, err := c.dec.MessageLiteralHeader(true)
			if err != nil {
				return err
			}
			if li.Size > left {
				c.dec.RefuseLiteral(li)
				return nof(codeTooBig, "CATENATE makes too big a message")
			}
			b, err := c.dec.LiteralBody(li)
			if err != nil {
				return err
			}
			buf = append(buf, b...)
		case "URL":
			u, err := c.dec.AString()
			if err != nil {
				return err
			}
			b, err := c.catURL(u, left)
			if err != nil {
				return err
			}
			buf = append(buf, b...)
		default:
			return badf("", "CATENATE part must be TEXT or URL")
		}
		return nil
	})
	if err == nil && n == 0 {
		err = badf("", "CATENATE needs a part")
	}
	return buf, err
}

// catURL returns the bytes a CATENATE URL names, at most room of them.
func (c *conn) catURL(u string, room int64) ([]byte, error) {
	bad := nof(codeBadURL+" "+urlRespText(u), "URL does not name a message of this account")
	ref, err := parseCatURL(u)
	if err != nil {
		return nil, bad
	}
	st := c.srv.cfg.Store
	mb, err := st.MailboxByName(c.ctx, c.acct.ID, store.CanonicalMailboxName(ref.mailbox))
	if errors.Is(err, store.ErrNotFound) {
		return nil, bad
	} else if err != nil {
		return nil, err
	}
	if ref.uidValidity != 0 && ref.uidValidity != mb.UIDValidity {
		return nil, bad
	}
	var meta *store.MessageMeta
	err = st.ListMessages(c.ctx, mb.Ref(), []uint32{ref.uid}, func(m store.MessageMeta) error {
		meta = &m
		return nil
	})
	if err != nil {
		return nil, err
	}
	if meta == nil {
		return nil, bad
	}
	if meta.Size > c.lim.MaxAppendBytes {
		return nil, nof(codeTooBig, "message named by URL too big")
	}
	raw, err := st.MessageBody(c.ctx, mb.Ref(), meta.ID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, bad // expunged meanwhile
	} else if err != nil {
		return nil, err
	}
	b := raw
	if ref.section != nil {
		b, err = imapmsg.SectionBytes(raw, message.Parse(raw), *ref.section)
		if err != nil {
			return nil, bad
		}
	}
	b = imapmsg.ApplyPartial(b, ref.partial)
	if int64(len(b)) > room {
		return nil, nof(codeTooBig, "CATENATE makes too big a message")
	}
	return b, nil
}

// parseCatURL parses an IMAP URL (RFC 5092) naming a message of the
// logged-in account: no server, no user, no URLAUTH; a SECTION and a
// PARTIAL (RFC 5550) may follow the UID (urlpath.go).
func parseCatURL(u string) (urlMsgPath, error) {
	switch {
	case len(u) >= 7 && strings.EqualFold(u[:7], "imap://"):
		rest := u[7:]
		if !strings.HasPrefix(rest, "/") {
			return urlMsgPath{}, errURL // an authority: another user or server
		}
		return parseURLMsgPath(rest[1:])
	case strings.HasPrefix(u, "/") && !strings.HasPrefix(u, "//"):
		return parseURLMsgPath(u[1:])
	}
	return urlMsgPath{}, errURL
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// urlRespText makes a URL fit a response code (RFC 4469 url-resp-text:
// no "]", no CR, LF or NUL) and a bounded length.
func urlRespText(u string) string {
	if len(u) > 200 {
		u = u[:200]
	}
	return strings.Map(func(r rune) rune {
		if r == ']' || r < 0x20 || r == 0x7f || r >= 0x80 {
			return '?'
		}
		return r
	}, u)
}
