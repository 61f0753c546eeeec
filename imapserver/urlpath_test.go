package imapserver

import (
	"reflect"
	"testing"
)

// FuzzURLMsgPath: CATENATE's relative URLs and URLAUTH's absolute ones
// read their message path with one parser (urlpath.go), so they accept
// the same paths and read the same mailbox, UIDVALIDITY, UID, SECTION and
// PARTIAL from them.
func FuzzURLMsgPath(f *testing.F) {
	for _, s := range []string{
		"INBOX/;UID=1", "INBOX;UIDVALIDITY=5/;UID=2/;SECTION=1.2", "a%20b/;uid=3/;section=HEADER.FIELDS%20(From)/;partial=0.4",
		"Arch%C3%ADv;UIDVALIDITY=1/;UID=9/;PARTIAL=10", "INBOX/;UID=0", "/;UID=1", "INBOX;UID=1", "INBOX/;UID=1/;SECTION=1<0.5>",
		"INBOX/;UID=1/;PARTIAL=0.0", "INBOX/;UID=1/;EXPIRE=x", "%00/;UID=1", "INBOX/;UID=1/;PARTIAL=1/;SECTION=1",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, path string) {
		p, err := parseURLMsgPath(path)
		cat, catErr := parseCatURL("/" + path)
		abs, absErr := parseIMAPURL("imap://u@h/"+path+";URLAUTH=anonymous", false)
		if (err == nil) != (catErr == nil) {
			t.Fatalf("%q: path %v, CATENATE %v", path, err, catErr)
		}
		if err != nil {
			return
		}
		if !reflect.DeepEqual(p, cat) {
			t.Fatalf("%q: path %+v, CATENATE %+v", path, p, cat)
		}
		// The absolute form cuts ";URLAUTH=" and ";EXPIRE=" off first, so
		// a path that holds them may read differently; others the same.
		if absErr == nil && !reflect.DeepEqual(p, abs.urlMsgPath) {
			t.Fatalf("%q: path %+v, URLAUTH %+v", path, p, abs.urlMsgPath)
		}
	})
}

// TestURLMsgPath: the parts of a message path, and what is refused.
func TestURLMsgPath(t *testing.T) {
	p, err := parseURLMsgPath("Arch%C3%ADv;UIDVALIDITY=7/;uid=9/;SECTION=1.MIME/;PARTIAL=10.5")
	if err != nil || p.mailbox != "Archív" || p.uidValidity != 7 || p.uid != 9 || p.section == nil || p.section.String() != "1.MIME" ||
		p.partial == nil || p.partial.Offset != 10 || p.partial.Count != 5 {
		t.Fatalf("%+v, %v", p, err)
	}
	for _, bad := range []string{"INBOX/;UID=0", "INBOX;UID=1", "/;UID=1", "INBOX/;UID=1/;SECTION=1<0.5>", "INBOX/;UID=1/;PARTIAL=0.0",
		"INBOX/;UID=1/;PARTIAL=1/;SECTION=1", "%0D/;UID=1", "INBOX/;UIDVALIDITY=1/;UID=1", "INBOX/;UID=1/;URLAUTH=anonymous"} {
		if p, err := parseURLMsgPath(bad); err == nil {
			t.Errorf("%q accepted: %+v", bad, p)
		}
	}
}
