package imapserver

import (
	"bytes"
	"errors"
	"strconv"
	"strings"

	"github.com/mailroom/mailroom/store"
)

// METADATA and METADATA-SERVER (RFC 5464): annotations of the server and
// of each mailbox, kept by the store per account (store.Metadata). The
// "/shared" entries are the account's like the "/private" ones: no
// mailbox is reachable by another account, so nobody else could share
// them. Names are compared case-insensitively (stored lower case).

// maxMetadataNames bounds the entry names of one GETMETADATA.
const maxMetadataNames = 256

// metadataCode builds "METADATA <what>" response codes (RFC 5464 §4.3).
func metadataCode(what string) string { return "METADATA " + what }

// parseEntryName checks an entry name (RFC 5464 §3.2.1) and returns it
// lower case: "/private" or "/shared" and, when set is true (SETMETADATA),
// at least one level below; printable ASCII without "*", "%", "//" or a
// trailing "/".
func parseEntryName(name string, maxLen int, set bool) (string, error) {
	if len(name) > maxLen {
		return "", badf("", "entry name longer than %d bytes", maxLen)
	}
	name = strings.ToLower(name)
	root, rest, _ := strings.Cut(strings.TrimPrefix(name, "/"), "/")
	if !strings.HasPrefix(name, "/") || (root != "private" && root != "shared") {
		return "", badf("", "entry name must start with /private or /shared")
	}
	if set && rest == "" || strings.HasSuffix(name, "/") || strings.Contains(name, "//") {
		return "", badf("", "invalid entry name")
	}
	for i := 0; i < len(name); i++ {
		if b := name[i]; b <= 0x20 || b >= 0x7f || b == '*' || b == '%' {
			return "", badf("", "invalid character in entry name")
		}
	}
	return name, nil
}

// metadataMailbox resolves a mailbox argument: "" is the server (0).
func (c *conn) metadataMailbox(name string) (int64, error) {
	if name == "" {
		return 0, nil
	}
	mb, err := c.srv.cfg.Store.MailboxByName(c.ctx, c.acct.ID, name)
	if errors.Is(err, store.ErrNotFound) {
		return 0, nof(codeNonExistent, "no such mailbox")
	}
	return mb.ID, err
}

// getMetadataArgs is a parsed GETMETADATA.
type getMetadataArgs struct {
	mailbox string
	maxSize int64 // -1: none
	depth   int   // 0, 1 or -1 (infinity)
	names   []string
}

// parseGetMetadata reads the arguments of GETMETADATA after the command
// name: [SP options] SP mailbox SP [options SP] entries. RFC 5464's ABNF
// puts the options before the mailbox, its examples after it; both are
// accepted, as Dovecot does.
func (c *conn) parseGetMetadata() (getMetadataArgs, error) {
	a := getMetadataArgs{maxSize: -1}
	if err := c.dec.SP(); err != nil {
		return a, err
	}
	seenOpts := false
	readList := func() ([]string, error) {
		var items []string
		err := c.dec.List(func() error {
			if len(items) >= 2*maxMetadataNames {
				return nof(codeLimit, "at most %d entries in one GETMETADATA", maxMetadataNames)
			}
			s, err := c.dec.AString()
			items = append(items, s)
			return err
		})
		return items, err
	}
	options := func(items []string) error {
		if seenOpts {
			return badf("", "GETMETADATA options given twice")
		}
		seenOpts = true
		if len(items)%2 != 0 {
			return badf("", "GETMETADATA option without value")
		}
		for i := 0; i < len(items); i += 2 {
			v := items[i+1]
			switch strings.ToUpper(items[i]) {
			case "MAXSIZE":
				n, err := strconv.ParseUint(v, 10, 32)
				if err != nil {
					return badf("", "bad MAXSIZE")
				}
				a.maxSize = int64(n)
			case "DEPTH":
				switch strings.ToLower(v) {
				case "0":
					a.depth = 0
				case "1":
					a.depth = 1
				case "infinity":
					a.depth = -1
				default:
					return badf("", "bad DEPTH")
				}
			default:
				return badf("", "unknown GETMETADATA option")
			}
		}
		return nil
	}
	if c.dec.PeekIs('(') {
		items, err := readList()
		if err != nil {
			return a, err
		}
		if err := options(items); err != nil {
			return a, err
		}
		if err := c.dec.SP(); err != nil {
			return a, err
		}
	}
	raw, err := c.dec.AString()
	if err != nil {
		return a, err
	}
	if raw != "" {
		a.mailbox = c.decodeName(raw)
	}
	if err := c.dec.SP(); err != nil {
		return a, err
	}
	var names []string
	if c.dec.PeekIs('(') {
		items, err := readList()
		if err != nil {
			return a, err
		}
		if len(items) > 0 && !strings.HasPrefix(items[0], "/") {
			if err := options(items); err != nil {
				return a, err
			}
			if err := c.dec.SP(); err != nil {
				return a, err
			}
			if c.dec.PeekIs('(') {
				if names, err = readList(); err != nil {
					return a, err
				}
			} else {
				n, err := c.dec.AString()
				if err != nil {
					return a, err
				}
				names = []string{n}
			}
		} else {
			names = items
		}
	} else {
		n, err := c.dec.AString()
		if err != nil {
			return a, err
		}
		names = []string{n}
	}
	if err := c.endArgs(); err != nil {
		return a, err
	}
	if len(names) == 0 {
		return a, badf("", "no entry named")
	}
	if len(names) > maxMetadataNames {
		return a, nof(codeLimit, "at most %d entries in one GETMETADATA", maxMetadataNames)
	}
	for _, n := range names {
		n, err := parseEntryName(n, c.lim.MetadataMaxEntryName, false)
		if err != nil {
			return a, err
		}
		a.names = append(a.names, n)
	}
	return a, nil
}

// cmdGetMetadata: GETMETADATA [options] mailbox entries (RFC 5464 §4.2).
func cmdGetMetadata(c *conn, cmd *command) error {
	a, err := c.parseGetMetadata()
	if err != nil {
		return err
	}
	mboxID, err := c.metadataMailbox(a.mailbox)
	if err != nil {
		return err
	}
	entries, err := c.srv.cfg.Store.GetMetadata(c.ctx, c.acct.ID, mboxID, a.names, a.depth)
	if err != nil {
		return err
	}
	found := map[string]bool{}
	var longest int64 = -1
	var out []store.MetadataEntry
	for _, e := range entries {
		found[e.Name] = true
		if a.maxSize >= 0 && int64(len(e.Value)) > a.maxSize {
			longest = max(longest, int64(len(e.Value)))
			continue
		}
		out = append(out, e)
	}
	for _, n := range a.names {
		if !found[n] {
			// As Dovecot: a requested entry that does not exist is NIL.
			found[n] = true
			out = append(out, store.MetadataEntry{Name: n})
		}
	}
	if len(out) > 0 {
		w := c.untagged().Raw("METADATA ").AString(c.encodeName(a.mailbox)).Raw(" (")
		for i, e := range out {
			if i > 0 {
				w.SP()
			}
			w.AString(e.Name).SP()
			switch {
			case e.Value == nil:
				w.NIL()
			case bytes.IndexByte(e.Value, 0) >= 0:
				w.Literal8(e.Value)
			default:
				w.String(string(e.Value))
			}
		}
		w.Raw(")").CRLF()
	}
	if longest >= 0 {
		c.okCode = metadataCode("LONGENTRIES " + strconv.FormatInt(longest, 10))
	}
	return nil
}

// cmdSetMetadata: SETMETADATA mailbox (entry value ...) (RFC 5464 §4.3).
// Every value is bounded before it is read: a literal beyond
// MetadataMaxValueBytes is refused at its header.
func cmdSetMetadata(c *conn, cmd *command) error {
	if err := c.dec.SP(); err != nil {
		return err
	}
	raw, err := c.dec.AString()
	if err != nil {
		return err
	}
	mailbox := ""
	if raw != "" {
		mailbox = c.decodeName(raw)
	}
	if err := c.dec.SP(); err != nil {
		return err
	}
	maxValue := c.lim.MetadataMaxValueBytes
	tooBig := func() error { return nof(metadataCode("MAXSIZE "+strconv.FormatInt(maxValue, 10)), "value too big") }
	var entries []store.MetadataEntry
	err = c.dec.List(func() error {
		if len(entries) >= c.lim.MetadataMaxEntries {
			return nof(metadataCode("TOOMANY"), "too many entries")
		}
		n, err := c.dec.AString()
		if err != nil {
			return err
		}
		name, err := parseEntryName(n, c.lim.MetadataMaxEntryName, true)
		if err != nil {
			return err
		}
		if err := c.dec.SP(); err != nil {
			return err
		}
		e := store.MetadataEntry{Name: name}
		switch {
		case c.dec.PeekIs('"'):
			s, err := c.dec.Quoted()
			if err != nil {
				return err
			}
			e.Value = []byte(s)
		case c.dec.PeekIs('{') || c.dec.PeekIs('~'):
			li, err := c.dec.LiteralHeader(true)
			if err != nil {
				return err
			}
			if li.Size > maxValue {
				c.dec.RefuseLiteral(li)
				return tooBig()
			}
			if e.Value, err = c.dec.LiteralBody(li); err != nil {
				return err
			}
		default:
			if _, isNil, err := c.dec.NString(); err != nil {
				return err
			} else if !isNil {
				return badf("", "expected a value")
			}
		}
		if int64(len(e.Value)) > maxValue {
			return tooBig()
		}
		entries = append(entries, e)
		return nil
	})
	if err != nil {
		return err
	}
	if err := c.endArgs(); err != nil {
		return err
	}
	mboxID, err := c.metadataMailbox(mailbox)
	if err != nil {
		return err
	}
	done := c.markOwnMetadata(mboxID, entries)
	err = c.srv.cfg.Store.SetMetadata(c.ctx, c.acct.ID, mboxID, entries, c.lim.MetadataMaxEntries)
	done()
	if errors.Is(err, store.ErrTooManyMetadata) {
		return nof(metadataCode("TOOMANY"), "too many entries")
	}
	return err
}
