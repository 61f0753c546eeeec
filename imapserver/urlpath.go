package imapserver

import (
	"strings"

	"github.com/mailroom/mailroom/imapserver/imapmsg"
)

// urlMsgPath is what the path of an IMAP URL naming a message or a part
// of one says (RFC 5092 §11 imessagepart, RFC 5550 partial):
// enc-mailbox [;UIDVALIDITY=n] /;UID=n [/;SECTION=s] [/;PARTIAL=o[.l]].
// CATENATE's URLs (catenate.go) and URLAUTH's (urlauth.go) both end in
// one.
type urlMsgPath struct {
	mailbox     string // percent-decoded UTF-8, as written (not canonical)
	uidValidity uint32 // 0: absent
	uid         uint32
	section     *imapmsg.Section // nil: the whole message
	partial     *imapmsg.Partial // nil: all of it
}

// parseURLMsgPath parses path (what follows the "/" after the authority)
// up to its end: anything after the parts above, such as ";URLAUTH=", is
// for the caller to cut first.
func parseURLMsgPath(path string) (urlMsgPath, error) {
	var p urlMsgPath
	i := strings.IndexByte(path, ';')
	if i <= 0 {
		return p, errURL
	}
	// ";UIDVALIDITY=" follows the mailbox name directly, "/;UID=" a
	// slash after it or after the UIDVALIDITY.
	encMailbox, params := path[:i], path[i+1:]
	encMailbox, slash := strings.CutSuffix(encMailbox, "/")
	if slash == hasPrefixFold(params, "UIDVALIDITY=") {
		return p, errURL
	}
	var err error
	if p.mailbox, err = pctDecode(encMailbox); err != nil || p.mailbox == "" {
		return p, errURL
	}
	parts := strings.Split(params, "/;")
	// value returns the value of the next part if it is name=..., and
	// moves past it.
	value := func(name string) (string, bool) {
		if len(parts) == 0 || !hasPrefixFold(parts[0], name+"=") {
			return "", false
		}
		v := parts[0][len(name)+1:]
		parts = parts[1:]
		return v, true
	}
	if v, ok := value("UIDVALIDITY"); ok {
		if p.uidValidity, err = parseNZ(v); err != nil {
			return p, errURL
		}
	}
	v, ok := value("UID")
	if !ok {
		return p, errURL
	}
	if p.uid, err = parseNZ(v); err != nil {
		return p, errURL
	}
	if v, ok := value("SECTION"); ok {
		s, err := pctDecode(v)
		if err != nil || s == "" {
			return p, errURL
		}
		sec, err := imapmsg.ParseSection(s)
		if err != nil || sec.Partial != nil {
			return p, errURL
		}
		p.section = &sec
	}
	if v, ok := value("PARTIAL"); ok {
		if p.partial, err = parseURLPartial(v); err != nil {
			return p, errURL
		}
	}
	if len(parts) > 0 {
		return p, errURL
	}
	return p, nil
}
