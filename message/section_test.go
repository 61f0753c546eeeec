package message

import (
	"errors"
	"testing"
)

func TestHeaderFields(t *testing.T) {
	hdr := []byte("From: a@b\r\nSubject: folded\r\n line two\r\nX-Other: 1\nsubject: again\r\nnot a field\r\nTo: c@d\r\n\r\n")
	tests := []struct {
		names []string
		not   bool
		want  string
	}{
		{[]string{"SUBJECT"}, false, "Subject: folded\r\n line two\r\nsubject: again\r\n\r\n"},
		{[]string{"subject", "to"}, true, "From: a@b\r\nX-Other: 1\r\n\r\n"},
		{[]string{"x-missing"}, false, "\r\n"},
		{nil, true, "From: a@b\r\nSubject: folded\r\n line two\r\nX-Other: 1\r\nsubject: again\r\nTo: c@d\r\n\r\n"},
	}
	for _, tt := range tests {
		if got := string(HeaderFields(hdr, tt.names, tt.not)); got != tt.want {
			t.Errorf("HeaderFields(%v, not=%v) = %q, want %q", tt.names, tt.not, got, tt.want)
		}
	}
	if got := string(HeaderFields([]byte("Subject: no line ending"), []string{"subject"}, false)); got != "Subject: no line ending\r\n\r\n" {
		t.Errorf("unterminated field: %q", got)
	}
}

func TestHeaderValues(t *testing.T) {
	hdr := []byte("Received: one\r\n\tfolded\r\nX: y\r\nreceived:two  \r\n\r\nReceived: in body\r\n")
	got := HeaderValues(hdr, "RECEIVED")
	if len(got) != 2 || got[0] != "one\tfolded" || got[1] != "two" {
		t.Errorf("got %q", got)
	}
}

func TestFindErrors(t *testing.T) {
	p := Parse([]byte(walkthrough))
	if q, err := p.Find(nil); err != nil || q != p {
		t.Errorf("Find(nil) = %v, %v", q, err)
	}
	for _, path := range [][]int{{-1}, {0}, {3}, {2, 1}, {1, 2, 3}} {
		if _, err := p.Find(path); !errors.Is(err, ErrNoSuchPart) {
			t.Errorf("Find(%v) error %v", path, err)
		}
	}
	// A message that is itself message/rfc822: 1 is its body, 1.1 the
	// body of the embedded message.
	raw := []byte("Content-Type: message/rfc822\r\n\r\nSubject: in\r\n\r\ninner body")
	p = Parse(raw)
	if got := string(mustFind(t, p, 1).Body(raw)); got != "Subject: in\r\n\r\ninner body" {
		t.Errorf("1 = %q", got)
	}
	if got := string(mustFind(t, p, 1, 1).Body(raw)); got != "inner body" {
		t.Errorf("1.1 = %q", got)
	}
}

func TestSectionsClampOffsets(t *testing.T) {
	p := Parse([]byte(walkthrough))
	short := []byte("tiny")
	for _, q := range []*Part{p, p.Parts[0], p.Parts[1]} {
		_ = q.Header(short)
		_ = q.Body(short)
		_ = q.Whole(short)
		_ = q.Text(short)
	}
	_ = p.TextForSearch(nil)
}
