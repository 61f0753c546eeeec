package message

import (
	"reflect"
	"strings"
	"testing"
)

// walkthrough is the message of the protocols walkthrough (Thunderbird,
// 2008): a flowed text/plain body and a base64 attachment foo.txt holding
// "bar".
var walkthrough = crlf(`Return-path: <from@example.org>
Message-ID: <47D3191C.7010301@mailserver_here>
Date: Sun, 09 Mar 2008 00:54:20 +0200
From: from_name_here <from@example.org>
User-Agent: Thunderbird (Windows/20080213)
MIME-Version: 1.0
To: to@example.com
Subject: test with attachment
Content-Type: multipart/mixed;
 boundary="------------030709070003020306050102"

This is a multi-part message in MIME format.
--------------030709070003020306050102
Content-Type: text/plain; charset=ISO-8859-1; format=flowed
Content-Transfer-Encoding: 7bit

this is the body of the message.

--------------030709070003020306050102
Content-Type: text/plain;
 name="foo.txt"
Content-Transfer-Encoding: base64
Content-Disposition: inline;
 filename="foo.txt"

YmFy
--------------030709070003020306050102--
`)

func TestParseWalkthrough(t *testing.T) {
	raw := []byte(walkthrough)
	p := parseChecked(t, walkthrough)
	if p.ContentType() != "multipart/mixed" || len(p.Parts) != 2 {
		t.Fatalf("root %s with %d parts", p.ContentType(), len(p.Parts))
	}
	if got := string(p.Header(raw)); !strings.HasPrefix(got, "Return-path: ") || !strings.HasSuffix(got, "050102\"\r\n\r\n") {
		t.Errorf("root header %q", got)
	}
	if got := string(p.Whole(raw)); got != walkthrough {
		t.Errorf("root whole differs")
	}

	body := mustFind(t, p, 1)
	if got := string(body.Body(raw)); got != "this is the body of the message.\r\n" {
		t.Errorf("part 1 body %q", got)
	}
	if body.BodyLines != 1 {
		t.Errorf("part 1 lines %d", body.BodyLines)
	}
	wantParams := []Param{{"charset", "ISO-8859-1"}, {"format", "flowed"}}
	if !reflect.DeepEqual(body.Params, wantParams) {
		t.Errorf("part 1 params %v", body.Params)
	}
	if body.Encoding != "7bit" || body.Disposition != "" {
		t.Errorf("part 1 encoding %q disposition %q", body.Encoding, body.Disposition)
	}
	if got := string(body.MIMEHeader(raw)); got != "Content-Type: text/plain; charset=ISO-8859-1; format=flowed\r\nContent-Transfer-Encoding: 7bit\r\n\r\n" {
		t.Errorf("part 1 MIME header %q", got)
	}

	if want := int64(strings.Index(walkthrough, "Content-Type: text/plain; charset")); body.HeaderStart != want {
		t.Errorf("part 1 header start %d, want %d (preamble excluded)", body.HeaderStart, want)
	}
	att := mustFind(t, p, 2)
	if want := int64(strings.Index(walkthrough, "YmFy\r\n--") + 4); att.BodyEnd != want {
		t.Errorf("part 2 body end %d, want %d", att.BodyEnd, want)
	}
	if got := string(att.Body(raw)); got != "YmFy" {
		t.Errorf("part 2 body %q", got)
	}
	dec, err := Decode(att.Body(raw), att.Encoding)
	if err != nil || string(dec) != "bar" {
		t.Errorf("decode part 2 = %q, %v", dec, err)
	}
	if att.Encoding != "base64" || att.Param("name") != "foo.txt" || att.Disposition != "inline" || att.DispositionParam("FILENAME") != "foo.txt" {
		t.Errorf("part 2 fields %+v", att)
	}
	if att.BodyLines != 1 {
		t.Errorf("part 2 lines %d", att.BodyLines)
	}

	env := p.Envelope
	wantEnv := &Envelope{
		Date:      "Sun, 09 Mar 2008 00:54:20 +0200",
		Subject:   "test with attachment",
		From:      []Address{{Name: "from_name_here", Mailbox: "from", Host: "example.org"}},
		To:        []Address{{Mailbox: "to", Host: "example.com"}},
		MessageID: "<47D3191C.7010301@mailserver_here>",
	}
	if !reflect.DeepEqual(env, wantEnv) {
		t.Errorf("envelope\n got %+v\nwant %+v", env, wantEnv)
	}
	if _, err := p.Find([]int{3}); err == nil {
		t.Error("Find(3) succeeded")
	}
	if _, err := p.Find([]int{1, 1}); err == nil {
		t.Error("Find(1.1) of a text part succeeded")
	}
}

var nested = crlf(`From: outer@example.org
Subject: fwd
Content-Type: multipart/mixed; boundary="outer"

--outer
Content-Type: multipart/alternative; boundary="outer-alt"

--outer-alt
Content-Type: text/plain

plain text
--outer-alt
Content-Type: text/html

<p>html</p>
--outer-alt--

--outer
Content-Type: message/rfc822

From: "Inner, Sender" <inner@example.net>
Subject: =?UTF-8?Q?caf=C3=A9?=
In-Reply-To: <a@b>
Content-Type: multipart/mixed; boundary=inner

--inner
Content-Type: text/plain; charset=iso-8859-1
Content-Transfer-Encoding: quoted-printable

caf=E9 au lait=
 here
--inner
Content-Type: application/octet-stream

xx
--inner--

--outer
Content-Type: message/rfc822

Subject: plain inner

just a line
second line
--outer--
`)

func TestParseNested(t *testing.T) {
	raw := []byte(nested)
	p := parseChecked(t, nested)
	tests := []struct {
		path []int
		typ  string
		body string
	}{
		{[]int{1}, "multipart/alternative", ""},
		{[]int{1, 1}, "text/plain", "plain text"},
		{[]int{1, 2}, "text/html", "<p>html</p>"},
		{[]int{2}, "message/rfc822", ""},
		{[]int{2, 1}, "text/plain", "caf=E9 au lait=\r\n here"},
		{[]int{2, 2}, "application/octet-stream", "xx"},
		{[]int{3}, "message/rfc822", "Subject: plain inner\r\n\r\njust a line\r\nsecond line"},
		{[]int{3, 1}, "text/plain", "just a line\r\nsecond line"},
	}
	for _, tt := range tests {
		q := mustFind(t, p, tt.path...)
		if q.ContentType() != tt.typ {
			t.Errorf("%v: type %s, want %s", tt.path, q.ContentType(), tt.typ)
		}
		if tt.body != "" && string(q.Body(raw)) != tt.body {
			t.Errorf("%v: body %q, want %q", tt.path, q.Body(raw), tt.body)
		}
	}
	for _, bad := range [][]int{{4}, {0}, {2, 3}, {3, 2}, {3, 1, 1}, {1, 1, 1}} {
		if _, err := p.Find(bad); err == nil {
			t.Errorf("Find(%v) succeeded", bad)
		}
	}

	fwd := mustFind(t, p, 2)
	if fwd.Message == nil || fwd.Message.Envelope == nil {
		t.Fatal("no embedded message")
	}
	env := fwd.Message.Envelope
	if env.Subject != "=?UTF-8?Q?caf=C3=A9?=" || env.InReplyTo != "<a@b>" {
		t.Errorf("inner envelope %+v", env)
	}
	if want := []Address{{Name: "Inner, Sender", Mailbox: "inner", Host: "example.net"}}; !reflect.DeepEqual(env.From, want) {
		t.Errorf("inner from %+v", env.From)
	}
	hdr, ok := fwd.MessageHeader(raw)
	if !ok || !strings.HasPrefix(string(hdr), "From: \"Inner") || !strings.HasSuffix(string(hdr), "boundary=inner\r\n\r\n") {
		t.Errorf("2.HEADER %q", hdr)
	}
	text, ok := fwd.MessageText(raw)
	if !ok || !strings.HasPrefix(string(text), "--inner\r\n") || !strings.HasSuffix(string(text), "--inner--\r\n") {
		t.Errorf("2.TEXT %q", text)
	}
	if got := string(fwd.MIMEHeader(raw)); got != "Content-Type: message/rfc822\r\n\r\n" {
		t.Errorf("2.MIME %q", got)
	}
	if fwd.BodyLines != int64(strings.Count(string(fwd.Body(raw)), "\n")) {
		t.Errorf("2 lines %d", fwd.BodyLines)
	}
	if got := mustFind(t, p, 3).BodyLines; got != 4 {
		t.Errorf("3 lines %d, want 4", got)
	}
	if _, ok := mustFind(t, p, 1, 1).MessageHeader(raw); ok {
		t.Error("MessageHeader of a text part")
	}
	if got := mustFind(t, p, 2, 1).Text(raw); got != "café au lait here" {
		t.Errorf("2.1 text %q", got)
	}
}

func TestParseDefaults(t *testing.T) {
	tests := []struct {
		name, raw string
		check     func(t *testing.T, raw []byte, p *Part)
	}{
		{"missing content-type", "Subject: x\r\n\r\nhello\r\n", func(t *testing.T, raw []byte, p *Part) {
			if p.ContentType() != "text/plain" || p.Param("charset") != "us-ascii" || p.BodyLines != 1 {
				t.Errorf("%s %v lines %d", p.ContentType(), p.Params, p.BodyLines)
			}
			if q := mustFind(t, p, 1); q != p {
				t.Error("Find(1) of a non-multipart message is not the message")
			}
		}},
		{"invalid content-type", "Content-Type: text\r\n\r\nx", func(t *testing.T, raw []byte, p *Part) {
			if p.ContentType() != "text/plain" {
				t.Errorf("got %s", p.ContentType())
			}
		}},
		{"upper case type and params", "Content-Type: TEXT/HTML; CHARSET=\"UTF-8\"\r\n\r\nx", func(t *testing.T, raw []byte, p *Part) {
			if p.ContentType() != "text/html" || !reflect.DeepEqual(p.Params, []Param{{"charset", "UTF-8"}}) {
				t.Errorf("got %s %v", p.ContentType(), p.Params)
			}
		}},
		{"digest defaults", crlf("Content-Type: multipart/digest; boundary=d\n\n--d\n\nSubject: one\n\nbody one\n--d\nContent-Type: text/plain\n\ntwo\n--d--\n"), func(t *testing.T, raw []byte, p *Part) {
			one := mustFind(t, p, 1)
			if one.ContentType() != "message/rfc822" || one.Message.Envelope.Subject != "one" {
				t.Errorf("digest part 1: %s", one.ContentType())
			}
			if got := string(mustFind(t, p, 1, 1).Body(raw)); got != "body one" {
				t.Errorf("1.1 body %q", got)
			}
			if mustFind(t, p, 2).ContentType() != "text/plain" {
				t.Error("digest part 2 type")
			}
		}},
		{"LF only", "From: a@b\nContent-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\none\ntwo\n--b\n\nthree\n--b--\n", func(t *testing.T, raw []byte, p *Part) {
			if got := string(mustFind(t, p, 1).Body(raw)); got != "one\ntwo" {
				t.Errorf("1 body %q", got)
			}
			if got := mustFind(t, p, 1).BodyLines; got != 2 {
				t.Errorf("1 lines %d", got)
			}
			if got := string(mustFind(t, p, 2).Body(raw)); got != "three" {
				t.Errorf("2 body %q", got)
			}
			if got := string(p.Header(raw)); !strings.HasSuffix(got, "boundary=b\n\n") {
				t.Errorf("header %q", got)
			}
		}},
		{"truncated multipart", crlf("Content-Type: multipart/mixed; boundary=b\n\n--b\n\none\n--b\nContent-Type: text/plain\n\ntwo and no end"), func(t *testing.T, raw []byte, p *Part) {
			if len(p.Parts) != 2 {
				t.Fatalf("%d parts", len(p.Parts))
			}
			if got := string(mustFind(t, p, 2).Body(raw)); got != "two and no end" {
				t.Errorf("2 body %q", got)
			}
		}},
		{"multipart without boundary", "Content-Type: multipart/mixed\r\n\r\nstuff", func(t *testing.T, raw []byte, p *Part) {
			if p.ContentType() != "text/plain" || string(p.Body(raw)) != "stuff" {
				t.Errorf("got %s", p.ContentType())
			}
		}},
		{"multipart without delimiter", "Content-Type: multipart/mixed; boundary=zz\r\n\r\nstuff", func(t *testing.T, raw []byte, p *Part) {
			if p.ContentType() != "text/plain" {
				t.Errorf("got %s", p.ContentType())
			}
		}},
		{"no blank line", "Subject: only a header\r\n", func(t *testing.T, raw []byte, p *Part) {
			if p.BodyStart != int64(len(raw)) || p.Envelope.Subject != "only a header" {
				t.Errorf("body start %d subject %q", p.BodyStart, p.Envelope.Subject)
			}
		}},
		{"part without header", crlf("Content-Type: multipart/mixed; boundary=b\n\n--b\nno header here\nsecond: line\n--b\n\nblank first\n--b--\n"), func(t *testing.T, raw []byte, p *Part) {
			one := mustFind(t, p, 1)
			if got := string(one.Body(raw)); got != "no header here\r\nsecond: line" || one.HeaderStart != one.BodyStart || one.ContentType() != "text/plain" {
				t.Errorf("1 body %q header %q", got, one.Header(raw))
			}
			two := mustFind(t, p, 2)
			if got := string(two.Header(raw)); got != "\r\n" || string(two.Body(raw)) != "blank first" || two.Size() != 11 {
				t.Errorf("2 header %q body %q", got, two.Body(raw))
			}
		}},
		{"message without header", "just text\r\n", func(t *testing.T, raw []byte, p *Part) {
			if p.BodyStart != 0 || p.BodyLines != 1 {
				t.Errorf("body start %d lines %d", p.BodyStart, p.BodyLines)
			}
		}},
		{"empty", "", func(t *testing.T, raw []byte, p *Part) {
			if p.ContentType() != "text/plain" || p.BodyEnd != 0 {
				t.Errorf("got %s", p.ContentType())
			}
		}},
		{"nested boundary prefix", crlf("Content-Type: multipart/mixed; boundary=ab\n\n--ab\nContent-Type: multipart/alternative; boundary=ab-1\n\n--ab-1\n\nx\n--ab-1--\n--ab\n\ny\n--ab--\n"), func(t *testing.T, raw []byte, p *Part) {
			if len(p.Parts) != 2 || len(p.Parts[0].Parts) != 1 || string(mustFind(t, p, 1, 1).Body(raw)) != "x" || string(mustFind(t, p, 2).Body(raw)) != "y" {
				t.Errorf("tree wrong: %d parts", len(p.Parts))
			}
		}},
		{"empty parts and whitespace after boundary", crlf("Content-Type: multipart/mixed; boundary=b\n\n--b  \n--b\n\n\n--b--  \n"), func(t *testing.T, raw []byte, p *Part) {
			if len(p.Parts) != 2 {
				t.Fatalf("%d parts", len(p.Parts))
			}
			for i, c := range p.Parts {
				if len(c.Body(raw)) != 0 {
					t.Errorf("part %d body %q", i+1, c.Body(raw))
				}
			}
		}},
		{"base64 message/rfc822 is opaque", crlf("Content-Type: message/rfc822\nContent-Transfer-Encoding: base64\n\nU3ViamVjdDogeA==\n"), func(t *testing.T, raw []byte, p *Part) {
			if p.ContentType() != "application/octet-stream" {
				t.Errorf("got %s", p.ContentType())
			}
		}},
		{"content fields", crlf("Content-Type: image/png\nContent-ID: <id@x>\nContent-Description: a\n  picture\nContent-Transfer-Encoding: BASE64\nContent-Language: en, de\nContent-Location: http://x/y\nContent-MD5: abc=\n\nAAAA"), func(t *testing.T, raw []byte, p *Part) {
			want := Part{ContentID: "<id@x>", Description: "a  picture", Encoding: "BASE64", Language: []string{"en", "de"}, Location: "http://x/y", MD5: "abc="}
			got := Part{ContentID: p.ContentID, Description: p.Description, Encoding: p.Encoding, Language: p.Language, Location: p.Location, MD5: p.MD5}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got %+v", got)
			}
			if p.BodyLines != 0 {
				t.Errorf("image with %d lines", p.BodyLines)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.check(t, []byte(tt.raw), parseChecked(t, tt.raw))
		})
	}
}

func TestParseParams(t *testing.T) {
	tests := []struct {
		name, header string
		want         []Param
		disp         []Param
	}{
		{"rfc2231 continuation",
			"Content-Type: application/x-stuff;\n title*0*=us-ascii'en'This%20is%20even%20more%20;\n title*1*=%2A%2A%2Afun%2A%2A%2A%20;\n title*2=\"isn't it!\"; a=b",
			[]Param{{"title", "This is even more ***fun*** isn't it!"}, {"a", "b"}}, nil},
		{"rfc2231 latin-1 filename",
			"Content-Type: application/pdf; NAME=x\nContent-Disposition: attachment; filename*=iso-8859-1''%E9t%E9.pdf",
			[]Param{{"name", "x"}}, []Param{{"filename", "été.pdf"}}},
		{"rfc2231 utf-8 plain continuation",
			"Content-Type: text/plain; charset=utf-8\nContent-Disposition: attachment; filename*0=\"long\"; filename*1=\"name.txt\"",
			[]Param{{"charset", "utf-8"}}, []Param{{"filename", "longname.txt"}}},
		{"duplicate and broken params",
			"Content-Type: text/plain; charset=utf-8; charset=latin1; junk; format=flowed",
			[]Param{{"charset", "utf-8"}, {"format", "flowed"}}, nil},
		{"quoted with semicolon",
			"Content-Type: text/plain; name=\"a;b \\\"c\\\"\"; x=y",
			[]Param{{"name", "a;b \"c\""}, {"x", "y"}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := crlf(tt.header + "\n\nbody")
			p := parseChecked(t, raw)
			if !reflect.DeepEqual(p.Params, tt.want) {
				t.Errorf("params %q, want %q", p.Params, tt.want)
			}
			if !reflect.DeepEqual(p.DispositionParams, tt.disp) {
				t.Errorf("disposition params %q, want %q", p.DispositionParams, tt.disp)
			}
		})
	}
}

func TestParseLimits(t *testing.T) {
	// Nesting deeper than MaxDepth: the deepest containers become leaves.
	var sb strings.Builder
	depth := MaxDepth + 10
	for i := 0; i < depth; i++ {
		sb.WriteString("Content-Type: multipart/mixed; boundary=b" + strings.Repeat("x", i) + "\r\n\r\n--b" + strings.Repeat("x", i) + "\r\n")
	}
	sb.WriteString("\r\nleaf")
	raw := sb.String()
	p := parseChecked(t, raw)
	d := 0
	for q := p; len(q.Parts) > 0; q = q.Parts[0] {
		d++
	}
	if d != MaxDepth {
		t.Errorf("depth %d, want %d", d, MaxDepth)
	}

	// More than MaxParts parts: the rest is left out of the tree.
	sb.Reset()
	sb.WriteString("Content-Type: multipart/mixed; boundary=b\r\n\r\n")
	for i := 0; i < MaxParts+100; i++ {
		sb.WriteString("--b\r\n\r\nx\r\n")
	}
	raw = sb.String()
	p = parseChecked(t, raw)
	if n := len(p.Parts); n != MaxParts-1 {
		t.Errorf("%d parts, want %d", n, MaxParts-1)
	}
}

func TestParseInvalidUTF8Params(t *testing.T) {
	p := parseChecked(t, "Content-Type: text/plain; name*=utf-8''%FF%41\r\n\r\n")
	if got := p.Param("name"); got != "\uFFFDA" {
		t.Errorf("name %q", got)
	}
}
