package imapserver

import (
	"strings"

	"github.com/mailroom/mailroom/imapserver/imapmsg"
)

// searchKeys reads one or more search keys up to the end of the line; more
// than one is an implicit AND.
func (c *conn) searchKeys(first string) (imapmsg.Key, error) {
	c.searchKeyCount = 0
	var keys []imapmsg.Key
	for {
		k, err := c.searchKey(0, first)
		first = ""
		if err != nil {
			return k, err
		}
		keys = append(keys, k)
		if c.dec.AtEOL() {
			break
		}
		if err := c.dec.SP(); err != nil {
			return k, err
		}
	}
	if len(keys) == 1 {
		return keys[0], nil
	}
	return imapmsg.Key{Op: imapmsg.KeyAnd, Children: keys}, nil
}

var simpleKeys = map[string]imapmsg.Op{
	"ALL": imapmsg.KeyAll, "ANSWERED": imapmsg.KeyAnswered, "DELETED": imapmsg.KeyDeleted,
	"DRAFT": imapmsg.KeyDraft, "FLAGGED": imapmsg.KeyFlagged, "SEEN": imapmsg.KeySeen,
	"UNANSWERED": imapmsg.KeyUnanswered, "UNDELETED": imapmsg.KeyUndeleted, "UNDRAFT": imapmsg.KeyUndraft,
	"UNFLAGGED": imapmsg.KeyUnflagged, "UNSEEN": imapmsg.KeyUnseen, "NEW": imapmsg.KeyNew,
	"OLD": imapmsg.KeyOld, "RECENT": imapmsg.KeyRecent,
	"SAVEDATESUPPORTED": imapmsg.KeySaveDateSupported, // RFC 8514 §4.2, savedate.go
}

var stringKeys = map[string]imapmsg.Op{
	"BCC": imapmsg.KeyBcc, "CC": imapmsg.KeyCc, "FROM": imapmsg.KeyFrom, "TO": imapmsg.KeyTo,
	"SUBJECT": imapmsg.KeySubject, "BODY": imapmsg.KeyBody, "TEXT": imapmsg.KeyText,
}

var dateKeys = map[string]imapmsg.Op{
	"BEFORE": imapmsg.KeyBefore, "ON": imapmsg.KeyOn, "SINCE": imapmsg.KeySince,
	"SENTBEFORE": imapmsg.KeySentBefore, "SENTON": imapmsg.KeySentOn, "SENTSINCE": imapmsg.KeySentSince,
	"SAVEDBEFORE": imapmsg.KeySavedBefore, "SAVEDON": imapmsg.KeySavedOn, "SAVEDSINCE": imapmsg.KeySavedSince, // RFC 8514 §4.2
}

// Bounds of one SEARCH (SORT, THREAD) program: the keys, counted at every
// level, and how deep parentheses, NOT and OR nest. Each key costs an
// evaluation per message, so the bound is on work as much as on memory.
const (
	maxSearchKeys  = 1000
	maxSearchDepth = 50
)

// searchKey reads one key; name, when set, is its already-read name.
func (c *conn) searchKey(depth int, name string) (imapmsg.Key, error) {
	var k imapmsg.Key
	if depth > maxSearchDepth {
		return k, nof(codeLimit, "search keys nested more than %d deep", maxSearchDepth)
	}
	if c.searchKeyCount++; c.searchKeyCount > maxSearchKeys {
		return k, nof(codeLimit, "more than %d search keys", maxSearchKeys)
	}
	if name != "" {
		return c.searchKeyNamed(depth, name)
	}
	if c.dec.PeekIs('(') {
		k.Op = imapmsg.KeyAnd
		err := c.dec.List(func() error {
			sub, err := c.searchKey(depth+1, "")
			k.Children = append(k.Children, sub)
			return err
		})
		if err == nil && len(k.Children) == 0 {
			err = badf("", "empty search key list")
		}
		return k, err
	}
	if b, err := c.dec.Peek(); err == nil && (b >= '0' && b <= '9' || b == '*' || b == '$') {
		set, err := c.numSetArg()
		return imapmsg.Key{Op: imapmsg.KeySeqSet, Set: set}, err
	}
	name, err := c.dec.Atom()
	if err != nil {
		return k, err
	}
	return c.searchKeyNamed(depth, name)
}

func (c *conn) searchKeyNamed(depth int, name string) (imapmsg.Key, error) {
	var k imapmsg.Key
	var err error
	name = strings.ToUpper(name)
	if op, ok := simpleKeys[name]; ok {
		return imapmsg.Key{Op: op}, nil
	}
	if err := c.dec.SP(); err != nil {
		return k, err
	}
	if op, ok := stringKeys[name]; ok {
		s, err := c.dec.AString()
		return imapmsg.Key{Op: op, Value: s}, err
	}
	if op, ok := dateKeys[name]; ok {
		s, err := c.dec.AString()
		if err != nil {
			return k, err
		}
		t, err := imapmsg.ParseDate(s)
		if err != nil {
			return k, badf("", "invalid date")
		}
		return imapmsg.Key{Op: op, Date: t}, nil
	}
	switch name {
	case "KEYWORD", "UNKEYWORD":
		f, err := c.dec.AtomFunc("keyword", isFlagChar)
		k.Op, k.Value = imapmsg.KeyKeyword, f
		if name == "UNKEYWORD" {
			k.Op = imapmsg.KeyUnkeyword
		}
		return k, err
	case "HEADER":
		if k.Field, err = c.dec.AString(); err != nil {
			return k, err
		}
		if err := c.dec.SP(); err != nil {
			return k, err
		}
		k.Op = imapmsg.KeyHeader
		k.Value, err = c.dec.AString()
		return k, err
	case "YOUNGER", "OLDER":
		k.Op = imapmsg.KeyYounger
		if name == "OLDER" {
			k.Op = imapmsg.KeyOlder
		}
		if k.Number, err = c.dec.Number64(); err == nil && k.Number == 0 {
			err = badf("", "%s needs a positive number of seconds", name) // nz-number
		}
		return k, err
	case "LARGER", "SMALLER":
		k.Op = imapmsg.KeyLarger
		if name == "SMALLER" {
			k.Op = imapmsg.KeySmaller
		}
		k.Number, err = c.dec.Number64()
		return k, err
	case "UID":
		k.Op = imapmsg.KeyUID
		k.Set, err = c.numSetArg()
		return k, err
	case "NOT":
		sub, err := c.searchKey(depth+1, "")
		return imapmsg.Key{Op: imapmsg.KeyNot, Children: []imapmsg.Key{sub}}, err
	case "OR":
		a, err := c.searchKey(depth+1, "")
		if err != nil {
			return k, err
		}
		if err := c.dec.SP(); err != nil {
			return k, err
		}
		b, err := c.searchKey(depth+1, "")
		return imapmsg.Key{Op: imapmsg.KeyOr, Children: []imapmsg.Key{a, b}}, err
	case "MODSEQ":
		// MODSEQ [entry-name SP entry-type-req SP] mod-sequence-valzer
		k.Op = imapmsg.KeyModSeq
		c.condstore = true
		if c.dec.PeekIs('"') {
			if k.Field, err = c.dec.Quoted(); err != nil {
				return k, err
			}
			if err := c.dec.SP(); err != nil {
				return k, err
			}
			if k.Value, err = c.dec.Atom(); err != nil {
				return k, err
			}
			if err := c.dec.SP(); err != nil {
				return k, err
			}
		}
		k.Number, err = c.dec.Number64()
		return k, err
	}
	return k, badf("", "unknown search key %s", sanitize(name))
}
