package message

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseAddressList(t *testing.T) {
	gs := func(name string) Address { return Address{Mailbox: name, GroupStart: true} }
	ge := Address{GroupEnd: true}
	tests := []struct {
		in   string
		want []Address
	}{
		{"", nil},
		{"alice@example.org", []Address{{Mailbox: "alice", Host: "example.org"}}},
		{`"Doe, John" <jdoe@example.com>, Mary Smith <mary@x.test>`, []Address{
			{Name: "Doe, John", Mailbox: "jdoe", Host: "example.com"},
			{Name: "Mary Smith", Mailbox: "mary", Host: "x.test"}}},
		{"A Group:Ed Jones <c@a.test>,joe@where.test,John <jdoe@one.test>;", []Address{
			gs("A Group"),
			{Name: "Ed Jones", Mailbox: "c", Host: "a.test"},
			{Mailbox: "joe", Host: "where.test"},
			{Name: "John", Mailbox: "jdoe", Host: "one.test"},
			ge}},
		{"undisclosed-recipients:;", []Address{gs("undisclosed-recipients"), ge}},
		{"friends: a@b, c@d", []Address{gs("friends"), {Mailbox: "a", Host: "b"}, {Mailbox: "c", Host: "d"}, ge}},
		{"=?UTF-8?Q?Andr=C3=A9?= <andre@x.test>", []Address{{Name: "=?UTF-8?Q?Andr=C3=A9?=", Mailbox: "andre", Host: "x.test"}}},
		{"<@route1,@route2:user@host>", []Address{{Adl: "@route1,@route2", Mailbox: "user", Host: "host"}}},
		{"pete(his account)@silly.test(his host)", []Address{{Name: "his host", Mailbox: "pete", Host: "silly.test"}}},
		{`"strange local"@x.test`, []Address{{Mailbox: `"strange local"`, Host: "x.test"}}},
		// Broken entries do not drop their neighbours.
		{"good@x.test, broken@, <>, nohost, , Name <unterminated@x.test", []Address{
			{Mailbox: "good", Host: "x.test"},
			{Mailbox: "broken", Host: MissingHost},
			{Mailbox: "nohost", Host: MissingHost},
			{Name: "Name", Mailbox: "unterminated", Host: "x.test"}}},
		{"a@b; c@d", []Address{{Mailbox: "a", Host: "b"}, {Mailbox: "c", Host: "d"}}},
		{`"unterminated <x@y>, z@w`, []Address{{Name: "unterminated", Mailbox: "x", Host: "y"}, {Mailbox: "z", Host: "w"}}},
		{`a@b (unterminated, z@w`, []Address{{Mailbox: "a", Host: "bunterminated"}, {Mailbox: "z", Host: "w"}}},
		{`Name <a@b, z@w`, []Address{{Name: "Name", Mailbox: "a", Host: "b"}, {Mailbox: "z", Host: "w"}}},
	}
	for _, tt := range tests {
		got := ParseAddressList(tt.in)
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseAddressList(%q)\n got %+v\nwant %+v", tt.in, got, tt.want)
		}
	}
}

func TestEnvelopeFromHeader(t *testing.T) {
	raw := crlf("Date: Mon, 7 Feb 1994 21:52:25\n -0800 (PST)\nFrom: Fred Foobar <foobar@Blurdybloop.example>\nSubject: afternoon\n meeting\nTo: mooch@owatagu.siam.edu.example\ncc: Group:;\nBCC: x@y\nReply-To: r@y\nSender: s@y\nMessage-Id: <B27397-0100000@Blurdybloop.example>\nIn-Reply-To: <x@y>\nSubject: second subject ignored\n\nbody\n")
	p := parseChecked(t, raw)
	want := &Envelope{
		Date:      "Mon, 7 Feb 1994 21:52:25 -0800 (PST)",
		Subject:   "afternoon meeting",
		From:      []Address{{Name: "Fred Foobar", Mailbox: "foobar", Host: "Blurdybloop.example"}},
		Sender:    []Address{{Mailbox: "s", Host: "y"}},
		ReplyTo:   []Address{{Mailbox: "r", Host: "y"}},
		To:        []Address{{Mailbox: "mooch", Host: "owatagu.siam.edu.example"}},
		Cc:        []Address{{Mailbox: "Group", GroupStart: true}, {GroupEnd: true}},
		Bcc:       []Address{{Mailbox: "x", Host: "y"}},
		InReplyTo: "<x@y>",
		MessageID: "<B27397-0100000@Blurdybloop.example>",
	}
	if !reflect.DeepEqual(p.Envelope, want) {
		t.Errorf("envelope\n got %+v\nwant %+v", p.Envelope, want)
	}
}

// TestParseAddressListHostile: unbalanced openers are repaired a bounded
// number of times. A comma inside quotes after an unclosed '<' used to be
// "repaired" forever, growing the string on every retry (found by
// FuzzParseTop): one header line could hang a delivery and exhaust memory.
func TestParseAddressListHostile(t *testing.T) {
	for _, s := range []string{
		"<\xff0\x960\",000\"L",
		"<a \",\" b",
		"<(,)<\",\"<(,)",
		strings.Repeat("<\",\"", 1000),
		strings.Repeat("(\"<", 1000) + ",",
	} {
		done := make(chan []Address, 1)
		go func() { done <- ParseAddressList(s) }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Fatalf("ParseAddressList(%.40q) did not return", s)
		}
	}
	// Ordinary repairs still work.
	got := ParseAddressList("Ann <ann@example.org, bob@example.org")
	if len(got) != 2 || got[0].Mailbox != "ann" || got[1].Mailbox != "bob" {
		t.Fatalf("unclosed angle: %+v", got)
	}
}
