package sieve

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// RFC 5228 §2 and §9 example script, run against four messages.
const rfc5228Example = `#
# Example Sieve Filter
# Declare any optional features or extension used by the script
#
require ["fileinto"];

#
# Handle messages from known mailing lists
# Move messages from IETF filter discussion list to filter mailbox
#
if header :is "Sender" "owner-ietf-mta-filters@imc.org"
        {
        fileinto "filter";  # move to "filter" mailbox
        }
#
# Keep all messages to or from people in my company
#
elsif address :DOMAIN :is ["From", "To"] "example.com"
        {
        keep;               # keep in "In" mailbox
        }

#
# Try and catch unsolicited email.  If a message is not to me,
# or it contains a subject known to be spam, file it away.
#
elsif anyof (NOT address :all :contains
               ["To", "Cc", "Bcc"] "me@example.com",
             header :matches "subject"
               ["*make*money*fast*", "*university*dipl*mas*"])
        {
        fileinto "spam";   # move to "spam" mailbox
        }
else
        {
        # Move all other (non-company) mail to "personal"
        # mailbox.
        fileinto "personal";
        }
`

func TestRFC5228Example(t *testing.T) {
	cases := []struct {
		name, msg string
		want      []Action
	}{
		{"list", "Sender: owner-ietf-mta-filters@imc.org\nFrom: a@b.org\nTo: x@y.org\n\nhi\n", []Action{FileInto{Mailbox: "filter"}}},
		{"company", "From: boss@example.com\nTo: x@y.org\n\nhi\n", []Action{Keep{}}},
		{"not to me", "From: a@b.org\nTo: other@example.net\n\nhi\n", []Action{FileInto{Mailbox: "spam"}}},
		{"spam subject", "From: a@b.org\nTo: x@example.net\nBcc: me@example.com\nSubject: Make Money Fast\n\nhi\n", []Action{FileInto{Mailbox: "spam"}}},
		{"personal", "From: a@b.org\nCc: me@example.com\nSubject: lunch\n\nhi\n", []Action{FileInto{Mailbox: "personal"}}},
	}
	for _, c := range cases {
		checkActions(t, c.name, run(t, rfc5228Example, c.msg, testEnv()), c.want)
	}
}

func TestBaseCommands(t *testing.T) {
	cases := []struct {
		name, script string
		want         []Action
	}{
		{"empty script keeps", ``, []Action{implicitKeep()}},
		{"keep", `keep;`, []Action{Keep{}}},
		{"discard", `discard;`, []Action{Discard{}}},
		{"discard then keep", `discard; keep;`, []Action{Discard{}, Keep{}}},
		{"stop", `stop; discard;`, []Action{implicitKeep()}},
		{"redirect", `redirect "Fred <fred@example.net>";`, []Action{Redirect{Address: "fred@example.net"}}},
		{"redirect twice same address", `redirect "a@example.net"; redirect "A@example.net";`, []Action{Redirect{Address: "a@example.net"}}},
		{"fileinto", `require "fileinto"; fileinto "INBOX.x";`, []Action{FileInto{Mailbox: "INBOX.x"}}},
		{"fileinto twice", `require "fileinto"; fileinto "x"; fileinto "x";`, []Action{FileInto{Mailbox: "x"}}},
		{"keep and fileinto INBOX merge", `require "fileinto"; keep; fileinto "inbox";`, []Action{Keep{}}},
		{"size over", `if size :over 100 { discard; }`, []Action{Discard{}}},
		{"size over k", `if size :over 1K { discard; }`, []Action{implicitKeep()}},
		{"size under", `if size :under 1M { discard; }`, []Action{Discard{}}},
		{"header is caseless", `if header :is "subject" "I HAVE A PRESENT FOR YOU" { discard; }`, []Action{Discard{}}},
		{"header octet", `if header :comparator "i;octet" :is "subject" "I HAVE A PRESENT FOR YOU" { discard; }`, []Action{implicitKeep()}},
		{"header contains", `if header :contains ["from"] ["coyote"] { discard; }`, []Action{Discard{}}},
		{"header matches", `if header :matches "X-Caffeine" "C?H10N4O?" { discard; }`, []Action{Discard{}}},
		{"header matches escaped", `if header :matches "Subject" "I have a present for you\\?" { discard; }`, []Action{implicitKeep()}},
		{"missing header is empty list", `if header :matches "X-None" "*" { discard; }`, []Action{implicitKeep()}},
		{"address all", `if address :is :all "from" "coyote@desert.example.org" { discard; }`, []Action{Discard{}}},
		{"address localpart", `if address :localpart :is "from" "COYOTE" { discard; }`, []Action{Discard{}}},
		{"address domain list", `if address :domain :is ["to"] "example.net" { discard; }`, []Action{Discard{}}},
		{"exists", `if exists ["From","Date"] { discard; }`, []Action{Discard{}}},
		{"exists not all", `if exists ["From","X-Nope"] { discard; }`, []Action{implicitKeep()}},
		{"allof", `if allof (true, header :contains "subject" "present") { discard; }`, []Action{Discard{}}},
		{"anyof", `if anyof (false, false) { discard; } else { keep; }`, []Action{Keep{}}},
		{"not", `if not false { discard; }`, []Action{Discard{}}},
		{"elsif", `if false { discard; } elsif true { keep; } else { discard; }`, []Action{Keep{}}},
		{"envelope", `require "envelope"; if envelope :all :is "from" "sender@example.org" { discard; }`, []Action{Discard{}}},
		{"envelope domain to", `require "envelope"; if envelope :domain :is "to" "example.com" { discard; }`, []Action{Discard{}}},
		{"multiline", "require \"fileinto\";\nif header :is \"subject\" text:\nI have a present for you\n.\n { discard; }", []Action{implicitKeep()}},
		{"encoded-character hex", `require "encoded-character"; if header :contains "subject" "${hex:70 72 65}sent" { discard; }`, []Action{Discard{}}},
		{"encoded-character off", `if header :contains "subject" "${hex:70 72 65}sent" { discard; }`, []Action{implicitKeep()}},
		{"comment", "/* multi\nline */ # hash\nkeep; # end", []Action{Keep{}}},
	}
	for _, c := range cases {
		checkActions(t, c.name, run(t, c.script, baseMsg, testEnv()), c.want)
	}
}

func TestEnvelopeNullSender(t *testing.T) {
	env := testEnv()
	env.Envelope.From = ""
	res := run(t, `require "envelope"; if envelope :is "from" "" { discard; }`, baseMsg, env)
	checkActions(t, "null sender", res, []Action{Discard{}})
}

func TestMultilineDotStuffing(t *testing.T) {
	toks := lexer{src: "text: # c\r\nline1\r\n..dot\r\n.\r\n", line: 1, maxString: 1000}
	tok, err := toks.next()
	if err != nil {
		t.Fatal(err)
	}
	if tok.kind != tokString || tok.text != "line1\r\n.dot\r\n" {
		t.Fatalf("got %v %q", tok.kind, tok.text)
	}
	if tok2, _ := toks.next(); tok2.kind != tokEOF || toks.line != 5 {
		t.Fatalf("after text: got %v at line %d", tok2.kind, toks.line)
	}
}

func TestQuotedEscapes(t *testing.T) {
	l := lexer{src: `"a\"b\\c\d"`, line: 1, maxString: 100}
	tok, err := l.next()
	if err != nil || tok.text != `a"b\cd` {
		t.Fatalf("got %q %v", tok.text, err)
	}
}

func TestEncodedCharacter(t *testing.T) {
	cases := map[string]string{
		"$${hex:24 24}":               "$$$",
		"${hex: 40}":                  "@",
		"${unicode:40}":               "@",
		"${Unicode:263A}":             "\u263a",
		"${hex:}":                     "${hex:}",
		"${unicode:D800}":             "${unicode:D800}",
		"${hex:G}":                    "${hex:G}",
		"${hex:40}${unicode:0041 42}": "@AB",
	}
	for in, want := range cases {
		if got := decodeEncoded(in); got != want {
			t.Errorf("decodeEncoded(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCompileErrors(t *testing.T) {
	cases := []struct {
		script string
		line   int
		msg    string
	}{
		{"keep;\nfoo;", 2, "unknown command 'foo'"},
		{"fileinto \"x\";", 1, "requires the 'fileinto' extension"},
		{"require \"nope\";", 1, "unknown Sieve capability 'nope'"},
		{"keep;\nrequire \"fileinto\";", 2, "require command must appear before"},
		{"if true { require \"fileinto\"; }", 1, "top level"},
		{"if header :is \"a\" { keep; }", 1, "takes 2 positional arguments, found 1"},
		{"if size 10 { keep; }", 1, "needs :over or :under"},
		{"if size :over :under 10 { keep; }", 1, "cannot be used together"},
		{"if header :is :contains \"a\" \"b\" { keep; }", 1, "cannot be used together"},
		{"if header :comparator \"i;foo\" \"a\" \"b\" { keep; }", 1, "unknown comparator"},
		{"redirect [\"a@b\"];", 1, "expects a string"},
		{"keep", 1, "expected ';' or '{'"},
		{"\n\n\"unterminated", 3, "unterminated string"},
		{"else { keep; }", 1, "must follow an if"},
		{"if true keep;", 1, "takes no tests"},
		{"keep :copy;", 1, "unknown tagged argument ':copy'"},
		{"require \"copy\"; keep :copy;", 1, "unknown tagged argument ':copy'"},
		{"if exists { keep; }", 1, "takes 1 positional arguments, found 0"},
		{"discard { }", 1, "takes no block"},
		{"if true;", 1, "needs a block"},
		{"if keep { }", 1, "is a command, not a test"},
		{"header \"a\" \"b\";", 1, "is a test, not a command"},
		{"if address \"subject\" \"x\" { keep; }", 1, "not allowed to contain addresses"},
		{"require \"envelope\"; if envelope \"bogus\" \"x\" { keep; }", 1, "unknown envelope part"},
		{"if size :over 99999999999999999999 { keep; }", 1, "too large"},
		{"/* never closed", 1, "unterminated comment"},
		{"require \"regex\"; if header :regex \"a\" \"(\" { keep; }", 1, "invalid regular expression"},
		{"require \"relational\"; if header :value \"xx\" \"a\" \"1\" { keep; }", 1, "invalid relational"},
		{"if header :comparator \"i;ascii-numeric\" :is \"a\" \"1\" { keep; }", 1, "requires the 'comparator-i;ascii-numeric'"},
		{"keep;\nredirect \"not valid\";", 2, "invalid address 'not valid'"},
		{"require \"vacation\"; vacation :from \"bad address\" \"x\";", 1, "invalid :from address"},
		{"require \"envelope\"; if envelope \"orig_to\" \"x\" { keep; }", 1, "unknown envelope part"},
		{"require \"fileinto\"; fileinto \"\";", 1, "invalid mailbox name"},
	}
	for _, c := range cases {
		_, err := Compile([]byte(c.script), Limits{})
		var e *Error
		if !errors.As(err, &e) {
			t.Errorf("%q: got %v, want *Error", c.script, err)
			continue
		}
		if e.Line != c.line || !strings.Contains(e.Msg, c.msg) {
			t.Errorf("%q: got line %d %q, want line %d containing %q", c.script, e.Line, e.Msg, c.line, c.msg)
		}
	}
}

func TestRequires(t *testing.T) {
	s, err := Compile([]byte(`require ["fileinto", "envelope"]; require "copy";`), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(s.Requires(), ",")
	if got != "copy,envelope,fileinto" {
		t.Fatalf("Requires() = %s", got)
	}
	_ = context.Background
}

func TestCapabilities(t *testing.T) {
	caps := Capabilities()
	for _, c := range caps {
		src := `require "` + c + `";`
		if _, err := Compile([]byte(src), Limits{}); err != nil {
			t.Errorf("capability %s is advertised but %s fails: %v", c, src, err)
		}
	}
	caps[0] = "changed"
	if Capabilities()[0] == "changed" {
		t.Error("Capabilities returns the package's own slice")
	}
}

// An encoded display name that decodes to "evil@attacker.example, x" must
// not add an address: with RawHeader the address test parses the
// undecoded value (decoded, net/mail sees two addresses and the discard
// would fire).
func TestAddressRawHeader(t *testing.T) {
	msg := "From: =?UTF-8?Q?evil=40attacker=2Eexample=2C_x?= <good@example.org>\n\nhi\n"
	s, err := Compile([]byte(`if address :is "from" "evil@attacker.example" { discard; }
if address :is "from" "good@example.org" { redirect "copy@example.net"; }`), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := s.Evaluate(context.Background(), rawMessage{newTestMessage(t, msg)}, testEnv())
	if err != nil {
		t.Fatal(err)
	}
	checkActions(t, "raw", res, []Action{Redirect{Address: "copy@example.net"}})
}
