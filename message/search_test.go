package message

import (
	"strings"
	"testing"
)

func TestDecodeHeader(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain subject", "plain subject"},
		{"=?UTF-8?B?w6l0w6k=?=", "été"},
		{"=?ISO-8859-1?Q?Andr=E9?= Pirard", "André Pirard"},
		{"=?utf-8?q?caf=C3=A9?= =?utf-8?q?_au_lait?=", "café au lait"},
		{"=?windows-1252?Q?=93quoted=94?=", "\u201cquoted\u201d"},
		{"=?iso-2022-jp?B?GyRCJEYkOSRIGyhC?=", "てすと"},
		{"=?x-unknown?Q?abc?= and =?UTF-8?Q?ok?=", "=?x-unknown?Q?abc?= and ok"},
		{"=?UTF-8?Q?broken", "=?UTF-8?Q?broken"},
		{"raw \xff bytes", "raw \ufffd bytes"},
	}
	for _, tt := range tests {
		if got := DecodeHeader(tt.in); got != tt.want {
			t.Errorf("DecodeHeader(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestTextForSearch(t *testing.T) {
	raw := []byte(nested)
	p := Parse(raw)
	got := p.TextForSearch(raw)
	for _, want := range []string{"plain text", "<p>html</p>", "café au lait here", "just a line"} {
		if !strings.Contains(got, want) {
			t.Errorf("search text lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "xx") {
		t.Errorf("search text includes the application part:\n%s", got)
	}

	raw = []byte(crlf("Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64\n\nw6l0w6kgU1RSQVNTRQ==\n"))
	text := Parse(raw).TextForSearch(raw)
	if text != "été STRASSE" {
		t.Errorf("base64 text %q", text)
	}
	if !strings.Contains(Fold(text), Fold("straße")) || !strings.Contains(Fold(text), Fold("ÉTÉ")) {
		t.Errorf("fold: %q does not contain folded needles", Fold(text))
	}

	hdr := Parse([]byte(nested)).Parts[1].Message.HeaderText([]byte(nested))
	if !strings.Contains(hdr, "Subject: café\n") {
		t.Errorf("header text %q", hdr)
	}
}
