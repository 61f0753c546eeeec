package delivery

import (
	"slices"
	"testing"

	"github.com/mailroom/mailroom/message"
	"github.com/mailroom/mailroom/sieve"
)

func TestApplyHeaderEdit(t *testing.T) {
	raw := []byte("Received: a\r\nX-A: 1\r\n folded\r\nSubject: s\r\nX-A: 2\r\n\r\nbody\r\n")
	for _, tc := range []struct {
		edit sieve.Action
		want string
	}{
		{sieve.AddHeader{Name: "X-New", Value: "v"}, "X-New: v\r\nReceived: a\r\nX-A: 1\r\n folded\r\nSubject: s\r\nX-A: 2\r\n\r\nbody\r\n"},
		{sieve.AddHeader{Name: "X-New", Value: "v\r\nBcc: evil@x", Last: true}, "Received: a\r\nX-A: 1\r\n folded\r\nSubject: s\r\nX-A: 2\r\nX-New: v  Bcc: evil@x\r\n\r\nbody\r\n"},
		{sieve.DeleteHeader{Name: "x-a", Index: 1}, "Received: a\r\nSubject: s\r\nX-A: 2\r\n\r\nbody\r\n"},
		{sieve.DeleteHeader{Name: "X-A", Index: 2}, "Received: a\r\nX-A: 1\r\n folded\r\nSubject: s\r\n\r\nbody\r\n"},
		{sieve.DeleteHeader{Name: "X-None", Index: 1}, string(raw)},
	} {
		if got := string(applyHeaderEdit(raw, tc.edit)); got != tc.want {
			t.Errorf("%+v:\n got %q\nwant %q", tc.edit, got, tc.want)
		}
	}
	// A message that is only a header gets its blank line.
	if got := string(applyHeaderEdit([]byte("Subject: s\r\n"), sieve.AddHeader{Name: "X", Value: "1"})); got != "X: 1\r\nSubject: s\r\n\r\n" {
		t.Errorf("header-only message: %q", got)
	}
}

func TestSieveMessage(t *testing.T) {
	raw := []byte("Subject: =?utf-8?q?caf=C3=A9?=\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n" +
		"--b\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nhello=20world\r\n" +
		"--b\r\nContent-Type: text/html\r\n\r\n<p>hi</p>\r\n" +
		"--b\r\nContent-Type: application/pdf\r\n\r\n%PDF\r\n--b--\r\n")
	m := newSieveMessage(raw, message.Parse(raw))
	if got := m.Header("subject"); !slices.Equal(got, []string{"café"}) {
		t.Errorf("Header = %q", got)
	}
	if got := m.RawHeader("Subject"); !slices.Equal(got, []string{"=?utf-8?q?caf=C3=A9?="}) {
		t.Errorf("RawHeader = %q", got)
	}
	text, _ := m.Body(sieve.BodyText, nil)
	if len(text) != 2 || text[0] != "hello world" || text[1] != "<p>hi</p>" {
		t.Errorf("BodyText = %q", text)
	}
	html, _ := m.Body(sieve.BodyContent, []string{"text/html"})
	if !slices.Equal(html, []string{"<p>hi</p>"}) {
		t.Errorf("BodyContent text/html = %q", html)
	}
	app, _ := m.Body(sieve.BodyContent, []string{"application"})
	if !slices.Equal(app, []string{"%PDF"}) {
		t.Errorf("BodyContent application = %q", app)
	}
	if m.Size() != int64(len(raw)) {
		t.Errorf("Size = %d", m.Size())
	}
}
