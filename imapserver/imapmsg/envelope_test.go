package imapmsg

import (
	"testing"

	"github.com/mailroom/mailroom/message"
)

func TestAppendString(t *testing.T) {
	tests := []struct{ in, want, nwant string }{
		{"", `""`, "NIL"},
		{"hello world", `"hello world"`, `"hello world"`},
		{`a "b" \c`, `"a \"b\" \\c"`, `"a \"b\" \\c"`},
		{"two\r\nlines", "{10}\r\ntwo\r\nlines", "{10}\r\ntwo\r\nlines"},
		{"caf\u00e9", "{5}\r\ncaf\u00e9", "{5}\r\ncaf\u00e9"},
		{"nu\x00l", `"nul"`, `"nul"`},
		{"NIL", `"NIL"`, `"NIL"`},
	}
	for _, tt := range tests {
		if got := string(AppendString([]byte("x "), tt.in)); got != "x "+tt.want {
			t.Errorf("AppendString(%q) = %q, want %q", tt.in, got, "x "+tt.want)
		}
		if got := string(AppendNString(nil, tt.in)); got != tt.nwant {
			t.Errorf("AppendNString(%q) = %q, want %q", tt.in, got, tt.nwant)
		}
	}
}

func TestAppendEnvelope(t *testing.T) {
	env := &message.Envelope{
		Date:    "Sun, 09 Mar 2008 00:54:20 +0200",
		Subject: `last "test" i hope`,
		From:    []message.Address{{Name: "Alice Doe", Mailbox: "alice", Host: "example.org"}},
		To: []message.Address{
			{Mailbox: "bob", Host: "example.com"},
			{Mailbox: "friends", GroupStart: true},
			{Name: "=?UTF-8?Q?Caf=C3=A9?=", Mailbox: "carol", Host: "example.net"},
			{GroupEnd: true},
		},
		Cc:        []message.Address{{Adl: "@relay.example", Mailbox: "dan", Host: "example.com"}},
		InReplyTo: "<parent@example.org>",
		MessageID: "<47D3191C.7010301@example.org>",
	}
	want := `("Sun, 09 Mar 2008 00:54:20 +0200" "last \"test\" i hope"` +
		` (("Alice Doe" NIL "alice" "example.org"))` + // from
		` (("Alice Doe" NIL "alice" "example.org"))` + // sender defaults to from
		` (("Alice Doe" NIL "alice" "example.org"))` + // reply-to defaults to from
		` ((NIL NIL "bob" "example.com")(NIL NIL "friends" NIL)("=?UTF-8?Q?Caf=C3=A9?=" NIL "carol" "example.net")(NIL NIL NIL NIL))` +
		` ((NIL "@relay.example" "dan" "example.com"))` +
		` NIL "<parent@example.org>" "<47D3191C.7010301@example.org>")`
	if got := string(AppendEnvelope(nil, env)); got != want {
		t.Errorf("AppendEnvelope:\n got %s\nwant %s", got, want)
	}

	env.Sender = []message.Address{{Mailbox: "secretary", Host: "example.org"}}
	env.ReplyTo = []message.Address{{Mailbox: "list", Host: "example.org"}}
	env.Subject = "Gr\u00fc\u00dfe"
	got := string(AppendEnvelope(nil, env))
	wantPrefix := "(\"Sun, 09 Mar 2008 00:54:20 +0200\" {7}\r\nGr\u00fc\u00dfe" +
		` (("Alice Doe" NIL "alice" "example.org")) ((NIL NIL "secretary" "example.org")) ((NIL NIL "list" "example.org")) `
	if len(got) < len(wantPrefix) || got[:len(wantPrefix)] != wantPrefix {
		t.Errorf("AppendEnvelope with sender:\n got %q\nwant prefix %q", got, wantPrefix)
	}

	if got, want := string(AppendEnvelope(nil, nil)), "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)"; got != want {
		t.Errorf("AppendEnvelope(nil) = %s, want %s", got, want)
	}
}

func TestAppendEnvelopeParsed(t *testing.T) {
	raw := "Date: Sun, 09 Mar 2008 00:54:20 +0200\r\n" +
		"From: from_name_here <from@example.org>\r\n" +
		"To: a@example.com, Group: b@example.com;\r\n" +
		"Subject: last test i hope\r\n" +
		"Message-ID: <47D3191C.7010301@mailserver_here>\r\n" +
		"\r\nlast test\r\n"
	p := message.Parse([]byte(raw))
	want := `("Sun, 09 Mar 2008 00:54:20 +0200" "last test i hope"` +
		` (("from_name_here" NIL "from" "example.org")) (("from_name_here" NIL "from" "example.org")) (("from_name_here" NIL "from" "example.org"))` +
		` ((NIL NIL "a" "example.com")(NIL NIL "Group" NIL)(NIL NIL "b" "example.com")(NIL NIL NIL NIL))` +
		` NIL NIL NIL "<47D3191C.7010301@mailserver_here>")`
	if got := string(AppendEnvelope(nil, p.Envelope)); got != want {
		t.Errorf("AppendEnvelope(parsed):\n got %s\nwant %s", got, want)
	}
}
