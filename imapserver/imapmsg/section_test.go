package imapmsg

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/mailroom/mailroom/message"
)

func TestParseSection(t *testing.T) {
	tests := []struct {
		in   string
		want Section
		str  string
	}{
		{"", Section{}, ""},
		{"[]", Section{}, ""},
		{"text", Section{Specifier: "TEXT"}, "TEXT"},
		{"HEADER", Section{Specifier: "HEADER"}, "HEADER"},
		{"1", Section{Part: []int{1}}, "1"},
		{"1.2.3", Section{Part: []int{1, 2, 3}}, "1.2.3"},
		{"2.MIME", Section{Part: []int{2}, Specifier: "MIME"}, "2.MIME"},
		{"4.2.header", Section{Part: []int{4, 2}, Specifier: "HEADER"}, "4.2.HEADER"},
		{"1.2.HEADER.FIELDS (From Subject)", Section{Part: []int{1, 2}, Specifier: "HEADER.FIELDS", Fields: []string{"From", "Subject"}}, "1.2.HEADER.FIELDS (FROM SUBJECT)"},
		{"header.fields.not (X-Spam \"Odd Name\")", Section{Specifier: "HEADER.FIELDS.NOT", Fields: []string{"X-Spam", "Odd Name"}}, `HEADER.FIELDS.NOT (X-SPAM "ODD NAME")`},
		{"HEADER.FIELDS ({7}\r\nSubject)", Section{Specifier: "HEADER.FIELDS", Fields: []string{"Subject"}}, "HEADER.FIELDS (SUBJECT)"},
		{"HEADER.FIELDS ({2+}\r\nTo Cc)", Section{Specifier: "HEADER.FIELDS", Fields: []string{"To", "Cc"}}, "HEADER.FIELDS (TO CC)"},
		{"[HEADER]<0.100>", Section{Specifier: "HEADER", Partial: &Partial{0, 100}}, "HEADER"},
		{"1.TEXT]<10.20>", Section{Part: []int{1}, Specifier: "TEXT", Partial: &Partial{10, 20}}, "1.TEXT"},
		{"<5.1>", Section{Partial: &Partial{5, 1}}, ""},
	}
	for _, tt := range tests {
		got, err := ParseSection(tt.in)
		if err != nil {
			t.Errorf("ParseSection(%q): %v", tt.in, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseSection(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
		if s := got.String(); s != tt.str {
			t.Errorf("ParseSection(%q).String() = %q, want %q", tt.in, s, tt.str)
		}
		// The echoed form parses back to the same section.
		back, err := ParseSection(got.String())
		if err != nil || back.String() != got.String() {
			t.Errorf("ParseSection(%q) = %+v, %v: does not round-trip", got.String(), back, err)
		}
	}
	for _, bad := range []string{
		"MIME", "0", "1.", "1..2", ".1", "1.0", "FOO", "HEADERS", "TEXT ", "1.TEXT.2",
		"HEADER.FIELDS", "HEADER.FIELDS ()", "HEADER.FIELDS (A", "HEADER.FIELDS(A)", "HEADER.FIELDS (A  B)",
		"HEADER.FIELDS (\"a)", "HEADER.FIELDS ({5}\r\nab)", "[TEXT", "TEXT]]", "<1>", "<1.0>", "<1.2", "<a.2>",
		"4294967296", "TEXT<1.2>x",
	} {
		if s, err := ParseSection(bad); !errors.Is(err, ErrSyntax) {
			t.Errorf("ParseSection(%q) = %+v, %v; want ErrSyntax", bad, s, err)
		}
	}
}

func TestSectionResponseName(t *testing.T) {
	s, _ := ParseSection("1.2.HEADER.FIELDS (Subject)]<10.5>")
	if got, want := s.ResponseName("BODY"), "BODY[1.2.HEADER.FIELDS (SUBJECT)]<10>"; got != want {
		t.Errorf("ResponseName = %q, want %q", got, want)
	}
	if got, want := (Section{Part: []int{2}}).ResponseName("BINARY"), "BINARY[2]"; got != want {
		t.Errorf("ResponseName = %q, want %q", got, want)
	}
}

func TestApplyPartial(t *testing.T) {
	b := []byte("0123456789")
	tests := []struct {
		p    *Partial
		want string
	}{
		{nil, "0123456789"},
		{&Partial{0, 4}, "0123"},
		{&Partial{8, 4}, "89"},
		{&Partial{10, 4}, ""},
		{&Partial{4000000000, 4000000000}, ""},
		{&Partial{3, 4294967295}, "3456789"},
	}
	for _, tt := range tests {
		if got := string(ApplyPartial(b, tt.p)); got != tt.want {
			t.Errorf("ApplyPartial(%+v) = %q, want %q", tt.p, got, tt.want)
		}
	}
}

func TestSectionBytes(t *testing.T) {
	raw := []byte(walkthroughMsg)
	root := message.Parse(raw)
	hdrEnd := strings.Index(walkthroughMsg, "\r\n\r\n") + 4
	tests := []struct {
		sec  string
		want string
	}{
		{"", walkthroughMsg},
		{"HEADER", walkthroughMsg[:hdrEnd]},
		{"TEXT", walkthroughMsg[hdrEnd:]},
		{"HEADER.FIELDS (subject TO)", "To: to@example.com\r\nSubject: test with attachment\r\n\r\n"},
		{"HEADER.FIELDS (X-None)", "\r\n"},
		{"1", "this is the body of the message.\r\n"},
		{"1.MIME", "Content-Type: text/plain; charset=ISO-8859-1; format=flowed\r\nContent-Transfer-Encoding: 7bit\r\n\r\n"},
		{"2", "YmFy"},
		{"2.MIME", "Content-Type: text/plain;\r\n name=\"foo.txt\"\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: inline;\r\n filename=\"foo.txt\"\r\n\r\n"},
	}
	for _, tt := range tests {
		s, err := ParseSection(tt.sec)
		if err != nil {
			t.Fatal(err)
		}
		got, err := SectionBytes(raw, root, s)
		if err != nil || string(got) != tt.want {
			t.Errorf("BODY[%s] = %q, %v; want %q", tt.sec, got, err, tt.want)
		}
	}
	for _, sec := range []string{"3", "1.1", "0.TEXT", "1.HEADER", "2.TEXT", "1.2.MIME"} {
		s, err := ParseSection(sec)
		if err != nil {
			s = Section{Part: []int{0}, Specifier: "TEXT"}
		}
		if got, err := SectionBytes(raw, root, s); !errors.Is(err, ErrNoSuchPart) {
			t.Errorf("BODY[%s] = %q, %v; want ErrNoSuchPart", sec, got, err)
		}
	}
}

func TestSectionBytesNested(t *testing.T) {
	raw := []byte(nestedMsg)
	root := message.Parse(raw)
	innerStart := strings.Index(nestedMsg, "From: inner@")
	innerEnd := strings.Index(nestedMsg, "\r\n--outer--")
	inner := nestedMsg[innerStart:innerEnd]
	innerHdrEnd := strings.Index(inner, "\r\n\r\n") + 4
	tests := []struct {
		sec  string
		want string
	}{
		{"2", inner},
		{"2.HEADER", inner[:innerHdrEnd]},
		{"2.TEXT", inner[innerHdrEnd:]},
		{"2.HEADER.FIELDS.NOT (From Content-Type)", "Subject: inner subject\r\n\r\n"},
		{"2.MIME", "Content-Type: message/rfc822\r\nContent-Description: forwarded\r\n\r\n"},
		{"2.1", "inner plain MARKER"},
		{"2.2", "<p>inner html</p>"},
		{"2.2.MIME", "Content-Type: text/html\r\n\r\n"},
		{"1", "Sch=F6ne Gr=FC=DFe aus K=F6ln"},
	}
	for _, tt := range tests {
		s, err := ParseSection(tt.sec)
		if err != nil {
			t.Fatal(err)
		}
		got, err := SectionBytes(raw, root, s)
		if err != nil || string(got) != tt.want {
			t.Errorf("BODY[%s] = %q, %v; want %q", tt.sec, got, err, tt.want)
		}
	}

	// A single-part message: part 1 is its body.
	single := []byte(crlf("Subject: hi\n\nthe body\n"))
	sroot := message.Parse(single)
	got, err := SectionBytes(single, sroot, Section{Part: []int{1}})
	if err != nil || string(got) != "the body\r\n" {
		t.Errorf("single BODY[1] = %q, %v", got, err)
	}
	if _, err := SectionBytes(single, sroot, Section{Part: []int{2}}); !errors.Is(err, ErrNoSuchPart) {
		t.Errorf("single BODY[2]: err = %v, want ErrNoSuchPart", err)
	}
}

func TestBinaryBytes(t *testing.T) {
	raw := []byte(walkthroughMsg)
	root := message.Parse(raw)
	tests := []struct {
		part []int
		want string
	}{
		{[]int{2}, "bar"},
		{[]int{1}, "this is the body of the message.\r\n"},
		{nil, walkthroughMsg},
	}
	for _, tt := range tests {
		got, err := BinaryBytes(raw, root, tt.part)
		if err != nil || string(got) != tt.want {
			t.Errorf("BINARY[%v] = %q, %v; want %q", tt.part, got, err, tt.want)
		}
		size, err := BinarySize(raw, root, tt.part)
		if err != nil || size != int64(len(tt.want)) {
			t.Errorf("BINARY.SIZE[%v] = %d, %v; want %d", tt.part, size, err, len(tt.want))
		}
	}
	nraw := []byte(nestedMsg)
	nroot := message.Parse(nraw)
	if got, err := BinaryBytes(nraw, nroot, []int{1}); err != nil || string(got) != "Sch\xf6ne Gr\xfc\xdfe aus K\xf6ln" {
		t.Errorf("BINARY[1] of quoted-printable = %q, %v", got, err)
	}
	if _, err := BinaryBytes(raw, root, []int{3}); !errors.Is(err, ErrNoSuchPart) {
		t.Errorf("BINARY[3]: err = %v, want ErrNoSuchPart", err)
	}
	odd := []byte(crlf("Content-Transfer-Encoding: x-uuencode\n\nbegin 644 x\n"))
	if _, err := BinaryBytes(odd, message.Parse(odd), []int{1}); !errors.Is(err, ErrUnknownCTE) {
		t.Errorf("BINARY[1] of x-uuencode: err = %v, want ErrUnknownCTE", err)
	}
}

// TestParseSectionControlInFieldName: a field name with a NUL or line
// break (possible in a literal) is refused: no header has one, and it
// could not be echoed back in the response's quoted string.
func TestParseSectionControlInFieldName(t *testing.T) {
	for _, s := range []string{"HEADER.FIELDS ({7}\r\n00000\x000)", "HEADER.FIELDS.NOT (a {3}\r\nb\r\n)"} {
		if _, err := ParseSection(s); err == nil {
			t.Errorf("ParseSection(%q) accepted a control character", s)
		}
	}
	if _, err := ParseSection("HEADER.FIELDS ({7}\r\nX-Odd N)"); err != nil {
		t.Errorf("a name with a space: %v", err)
	}
}

// TestBinaryInvalidBase64: BINARY of a base64 part that is not valid
// base64 is ErrUnknownCTE (NO [UNKNOWN-CTE], RFC 3516 §4.3), not a lenient
// decoding. Issue 11, item 16.
func TestBinaryInvalidBase64(t *testing.T) {
	for body, ok := range map[string]bool{
		"YmFy\r\n":           true,
		"YmE=\r\nYmFy\r\n":   true, // concatenated
		"YQ==\r\n":           true,
		"Ym Fy\r\n":          true,
		"YmFy!\r\n":          false,
		"Ym*y\r\n":           false,
		"YmFyY\r\n":          false, // a lone character cannot encode a byte
		"=YmFy\r\n":          false,
		"YmFy\r\n-- sig\r\n": false,
	} {
		raw := []byte("Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Transfer-Encoding: base64\r\n\r\n" + body + "--b--\r\n")
		_, err := BinaryBytes(raw, message.Parse(raw), []int{1})
		if ok && err != nil || !ok && !errors.Is(err, ErrUnknownCTE) {
			t.Errorf("body %q: err %v, want ok=%v", body, err, ok)
		}
	}
}
