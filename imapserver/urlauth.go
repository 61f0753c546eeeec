package imapserver

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/mailroom/mailroom/imapserver/imapmsg"
	"github.com/mailroom/mailroom/message"
	"github.com/mailroom/mailroom/store"
)

// URLAUTH (RFC 4467) and URLAUTH=BINARY (RFC 5524): GENURLAUTH signs an
// IMAP URL (RFC 5092) of one of the session's own messages with the
// mailbox's access key (store.Metadata.URLAuthKey, made on first use);
// URLFETCH returns what a signed URL names, to whoever its access
// identifier admits; RESETKEY throws keys away, so that every URL signed
// with them stops resolving. The only mechanism is INTERNAL: the token is
// HMAC-SHA256(key, rump URL) in hex. URLs resolve only on this server
// (their host is Config.Hostname) and only for an account of it; anything
// wrong (syntax, key, token, expiry, access) is NIL, never an error that
// would tell which part was wrong.

// maxURLs bounds the URLs of one GENURLAUTH or URLFETCH.
const maxURLs = 100

// imapURL is a parsed IMAP URL (RFC 5092) with URLAUTH (RFC 4467 §3).
type imapURL struct {
	user       string // the owner, lower case
	host       string
	urlMsgPath           // mailbox, UIDVALIDITY, UID, SECTION, PARTIAL (urlpath.go)
	expire     time.Time // zero: never
	access     string    // "anonymous", "authuser", "user+x" or "submit+x" (x lower case)
	rump       string    // the URL up to and including ";URLAUTH=access"
	mech       string    // upper case; "" when unsigned
	token      string    // lower-case hex
}

var errURL = errors.New("invalid IMAP URL")

// cutFold cuts s at the first occurrence of sep, ASCII case-insensitive.
func cutFold(s, sep string) (before, after string, found bool) {
	for i := 0; i+len(sep) <= len(s); i++ {
		if strings.EqualFold(s[i:i+len(sep)], sep) {
			return s[:i], s[i+len(sep):], true
		}
	}
	return s, "", false
}

// lastIndexFold is strings.LastIndex, ASCII case-insensitive (byte
// offsets of s itself: strings.ToUpper may change the length of
// non-ASCII text).
func lastIndexFold(s, sep string) int {
	for i := len(s) - len(sep); i >= 0; i-- {
		if strings.EqualFold(s[i:i+len(sep)], sep) {
			return i
		}
	}
	return -1
}

func pctDecode(s string) (string, error) {
	d, err := url.PathUnescape(s)
	if err != nil || !utf8.ValidString(d) || strings.ContainsAny(d, "\x00\r\n") {
		return "", errURL
	}
	return d, nil
}

// parseIMAPURL parses an authimapurl (RFC 5092 §11) with its iurlauth
// rump, and the ":mechanism:token" when signed is true (URLFETCH) or
// none when false (GENURLAUTH's rump).
func parseIMAPURL(s string, signed bool) (imapURL, error) {
	var u imapURL
	if len(s) > 8192 || len(s) < 7 || !strings.EqualFold(s[:7], "imap://") {
		return u, errURL
	}
	// The URLAUTH part: everything after the last ";URLAUTH=".
	i := lastIndexFold(s, ";URLAUTH=")
	if i < 0 {
		return u, errURL
	}
	head, auth := s[:i], s[i+len(";URLAUTH="):]
	access := auth
	if signed {
		parts := strings.Split(auth, ":")
		if len(parts) != 3 {
			return u, errURL
		}
		access, u.mech, u.token = parts[0], strings.ToUpper(parts[1]), strings.ToLower(parts[2])
		if len(u.token) < 32 {
			return u, errURL
		}
		if _, err := hex.DecodeString(u.token); err != nil {
			return u, errURL
		}
	} else if strings.Contains(auth, ":") {
		return u, errURL
	}
	u.rump = s[:i+len(";URLAUTH=")+len(access)]
	la := strings.ToLower(access)
	switch {
	case la == "anonymous" || la == "authuser":
		u.access = la
	case strings.HasPrefix(la, "user+") || strings.HasPrefix(la, "submit+"):
		who, _ := pctDecode(access[strings.IndexByte(access, '+')+1:])
		if who == "" {
			return u, errURL
		}
		u.access = la[:strings.IndexByte(la, '+')+1] + strings.ToLower(who)
	default:
		return u, errURL
	}
	// ";EXPIRE=" date-time just before ";URLAUTH=".
	if h, exp, ok := cutFold(head, ";EXPIRE="); ok {
		t, err := time.Parse(time.RFC3339, exp)
		if err != nil {
			return u, errURL
		}
		head, u.expire = h, t
	}
	rest := head[len("imap://"):]
	authority, path, ok := strings.Cut(rest, "/")
	if !ok {
		return u, errURL
	}
	userinfo, host, ok := strings.Cut(authority, "@")
	if !ok || strings.Contains(host, "@") {
		return u, errURL
	}
	if ui, _, found := cutFold(userinfo, ";AUTH="); found {
		userinfo = ui
	}
	user, err := pctDecode(userinfo)
	if err != nil || user == "" {
		return u, errURL
	}
	u.user = strings.ToLower(user)
	if h, port, found := strings.Cut(host, ":"); found {
		if _, err := strconv.ParseUint(port, 10, 16); err != nil {
			return u, errURL
		}
		host = h
	}
	if host == "" {
		return u, errURL
	}
	u.host = strings.ToLower(host)
	// enc-mailbox [;UIDVALIDITY=n] /;UID=n [/;SECTION=s] [/;PARTIAL=o[.l]]
	if u.urlMsgPath, err = parseURLMsgPath(path); err != nil {
		return u, errURL
	}
	return u, nil
}

// parseURLPartial parses the value of an IMAP URL's ";PARTIAL="
// (RFC 5092 §11, RFC 5550): offset[.length], the length not zero.
func parseURLPartial(s string) (*imapmsg.Partial, error) {
	off, cnt, hasCnt := strings.Cut(s, ".")
	o, err := strconv.ParseUint(off, 10, 32)
	if err != nil {
		return nil, err
	}
	p := &imapmsg.Partial{Offset: uint32(o), Count: ^uint32(0)}
	if hasCnt {
		if p.Count, err = parseNZ(cnt); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// urlToken is the INTERNAL mechanism's token of a rump URL.
func urlToken(key []byte, rump string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(rump))
	return hex.EncodeToString(m.Sum(nil))
}

// urlArgs reads SP-separated astrings up to the end of the line.
func (c *conn) urlArgs(perItem int) ([]string, error) {
	var out []string
	for {
		if err := c.dec.SP(); err != nil {
			return nil, err
		}
		s, err := c.dec.AString()
		if err != nil {
			return nil, err
		}
		out = append(out, s)
		if len(out) > maxURLs*perItem {
			return nil, nof(codeLimit, "at most %d URLs in one command", maxURLs)
		}
		if c.dec.AtEOL() {
			return out, c.endArgs()
		}
	}
}

// cmdGenURLAuth: GENURLAUTH url-rump mechanism ... (RFC 4467 §7.1).
func cmdGenURLAuth(c *conn, cmd *command) error {
	args, err := c.urlArgs(2)
	if err != nil {
		return err
	}
	if len(args)%2 != 0 {
		return badf("", "GENURLAUTH takes pairs of URL and mechanism")
	}
	var out []string
	for i := 0; i < len(args); i += 2 {
		if !strings.EqualFold(args[i+1], "INTERNAL") {
			return badf("", "unknown URLAUTH mechanism")
		}
		u, err := parseIMAPURL(args[i], false)
		if err != nil {
			return badf("", "invalid URL rump")
		}
		if u.user != strings.ToLower(c.acct.Email) || u.host != strings.ToLower(c.srv.cfg.Hostname) {
			return nof(codeNoPerm, "URL of another user or server")
		}
		mb, err := c.srv.cfg.Store.MailboxByName(c.ctx, c.acct.ID, store.CanonicalMailboxName(u.mailbox))
		if errors.Is(err, store.ErrNotFound) {
			return nof(codeNonExistent, "no such mailbox")
		} else if err != nil {
			return err
		}
		if u.uidValidity != 0 && u.uidValidity != mb.UIDValidity {
			return nof(codeNonExistent, "UIDVALIDITY does not match")
		}
		key := make([]byte, store.URLAuthKeySize)
		rand.Read(key)
		key, err = c.srv.cfg.Store.URLAuthKey(c.ctx, mb.Ref(), key)
		if err != nil {
			return err
		}
		out = append(out, u.rump+":INTERNAL:"+urlToken(key, u.rump))
	}
	w := c.untagged().Raw("GENURLAUTH")
	for _, s := range out {
		w.SP().String(s)
	}
	w.CRLF()
	return nil
}

// cmdResetKey: RESETKEY [mailbox [mechanism ...]] (RFC 4467 §7.2).
func cmdResetKey(c *conn, cmd *command) error {
	var mboxID int64
	if !c.dec.AtEOL() {
		args, err := c.urlArgs(2)
		if err != nil {
			return err
		}
		for _, m := range args[1:] {
			if !strings.EqualFold(m, "INTERNAL") {
				return badf("", "unknown URLAUTH mechanism")
			}
		}
		mb, err := c.srv.cfg.Store.MailboxByName(c.ctx, c.acct.ID, c.decodeName(args[0]))
		if errors.Is(err, store.ErrNotFound) {
			return nof(codeNonExistent, "no such mailbox")
		} else if err != nil {
			return err
		}
		mboxID = mb.ID
	} else if err := c.endArgs(); err != nil {
		return err
	}
	return c.srv.cfg.Store.DeleteURLAuthKeys(c.ctx, c.acct.ID, mboxID)
}

// urlFetchReq is one URL of URLFETCH with the RFC 5524 items asked for.
type urlFetchReq struct {
	url                    string
	bodyPart, binary, body bool
	extended               bool // the "(url items)" form
}

// parseURLFetch reads URLFETCH's arguments: 1*(SP (url / "(" url
// *(SP item) ")")), items BODYPARTSTRUCTURE, BINARY, BODY (RFC 5524 §4).
func (c *conn) parseURLFetch() ([]urlFetchReq, error) {
	var reqs []urlFetchReq
	for {
		if err := c.dec.SP(); err != nil {
			return nil, err
		}
		if len(reqs) >= maxURLs {
			return nil, nof(codeLimit, "at most %d URLs in one command", maxURLs)
		}
		var r urlFetchReq
		if c.dec.PeekIs('(') {
			r.extended = true
			first := true
			err := c.dec.List(func() error {
				if first {
					first = false
					s, err := c.dec.AString()
					r.url = s
					return err
				}
				a, err := c.dec.Atom()
				if err != nil {
					return err
				}
				switch strings.ToUpper(a) {
				case "BODYPARTSTRUCTURE":
					r.bodyPart = true
				case "BINARY":
					r.binary = true
				case "BODY":
					r.body = true
				default:
					return badf("", "unknown URLFETCH parameter")
				}
				return nil
			})
			if err != nil {
				return nil, err
			}
			if first {
				return nil, badf("", "URLFETCH list without URL")
			}
			if r.binary && r.body {
				return nil, badf("", "BINARY and BODY together")
			}
		} else {
			s, err := c.dec.AString()
			if err != nil {
				return nil, err
			}
			r.url = s
		}
		reqs = append(reqs, r)
		if c.dec.AtEOL() {
			return reqs, c.endArgs()
		}
	}
}

// urlData is what a URL resolved to.
type urlData struct {
	raw  []byte
	root *message.Part
	sec  imapmsg.Section
	part *message.Part
}

// resolveURL checks a signed URL and reads the message it names; ok is
// false for any URL that must be answered NIL.
func (c *conn) resolveURL(s string) (d urlData, ok bool, err error) {
	u, perr := parseIMAPURL(s, true)
	if perr != nil || u.mech != "INTERNAL" || u.host != strings.ToLower(c.srv.cfg.Hostname) {
		return d, false, nil
	}
	if !u.expire.IsZero() && !c.srv.cfg.Now().Before(u.expire) {
		return d, false, nil
	}
	me := strings.ToLower(c.acct.Email)
	switch {
	case u.access == "anonymous", u.access == "authuser":
	case u.access == "user+"+me, u.access == "submit+"+me:
	default:
		return d, false, nil
	}
	owner, err := c.srv.cfg.Store.AccountByEmail(c.ctx, u.user)
	if errors.Is(err, store.ErrNotFound) {
		return d, false, nil
	} else if err != nil {
		return d, false, err
	}
	mb, err := c.srv.cfg.Store.MailboxByName(c.ctx, owner.ID, store.CanonicalMailboxName(u.mailbox))
	if errors.Is(err, store.ErrNotFound) {
		return d, false, nil
	} else if err != nil {
		return d, false, err
	}
	if u.uidValidity != 0 && u.uidValidity != mb.UIDValidity {
		return d, false, nil
	}
	key, err := c.srv.cfg.Store.URLAuthKey(c.ctx, mb.Ref(), nil)
	if errors.Is(err, store.ErrNotFound) {
		return d, false, nil
	} else if err != nil {
		return d, false, err
	}
	if !hmac.Equal([]byte(urlToken(key, u.rump)), []byte(u.token)) {
		return d, false, nil
	}
	var meta *store.MessageMeta
	err = c.srv.cfg.Store.ListMessages(c.ctx, mb.Ref(), []uint32{u.uid}, func(m store.MessageMeta) error {
		meta = &m
		return nil
	})
	if err != nil || meta == nil {
		return d, false, err
	}
	if d.raw, err = c.srv.cfg.Store.MessageBody(c.ctx, mb.Ref(), meta.ID); err != nil {
		return d, false, ignoreNotFound(err)
	}
	if d.root, err = c.srv.cfg.Store.MessagePart(c.ctx, mb.Ref(), meta.ID); err != nil {
		return d, false, ignoreNotFound(err)
	}
	if u.section != nil {
		d.sec = *u.section
	}
	d.sec.Partial = u.partial
	if d.part, err = d.root.Find(d.sec.Part); err != nil {
		return d, false, nil
	}
	return d, true, nil
}

func ignoreNotFound(err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	return err
}

// cmdURLFetch: URLFETCH url ... (RFC 4467 §7.3, RFC 5524 §4). Each URL
// is read and written before the next one is read.
func cmdURLFetch(c *conn, cmd *command) error {
	reqs, err := c.parseURLFetch()
	if err != nil {
		return err
	}
	for _, r := range reqs {
		d, ok, err := c.resolveURL(r.url)
		if err != nil {
			return err
		}
		var body []byte
		if ok {
			if r.binary {
				// BINARY (RFC 5524 §4.1): the decoded part, only for a
				// URL naming a body part (no HEADER, TEXT, MIME).
				if d.sec.Specifier != "" {
					ok = false
				} else if body, err = imapmsg.BinaryBytes(d.raw, d.root, d.sec.Part); err != nil {
					body = nil // unknown encoding: (BINARY NIL)
				} else {
					body = imapmsg.ApplyPartial(body, d.sec.Partial)
				}
			} else if body, err = imapmsg.SectionBytes(d.raw, d.root, d.sec); err != nil {
				ok = false
			} else {
				body = imapmsg.ApplyPartial(body, d.sec.Partial)
			}
			if r.bodyPart && d.sec.Specifier != "" {
				ok = false
			}
		}
		w := c.untagged().Raw("URLFETCH ").String(r.url).SP()
		switch {
		case !ok:
			w.NIL()
		case !r.extended:
			w.Literal(body)
		default:
			first := true
			sep := func() {
				if !first {
					w.SP()
				}
				first = false
			}
			if r.bodyPart {
				sep()
				w.Raw("(BODYPARTSTRUCTURE ").RawBytes(imapmsg.AppendBodyStructure(nil, d.part, true)).Raw(")")
			}
			if r.binary {
				sep()
				w.Raw("(BINARY ")
				if body == nil {
					w.NIL()
				} else {
					w.Literal8(body)
				}
				w.Raw(")")
			}
			if r.body {
				sep()
				w.Raw("(BODY ").Literal(body).Raw(")")
			}
			if first {
				w.NIL() // no item asked for: nothing to say but that the URL is valid
			}
		}
		w.CRLF()
		if err := c.enc.Flush(); err != nil {
			return err
		}
	}
	return nil
}
