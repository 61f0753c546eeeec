package sieve

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestVariables(t *testing.T) {
	// RFC 5229 §3 examples.
	script := `require ["variables", "fileinto"];
if header :matches "List-ID" "*<*@*" {
    fileinto "INBOX.lists.${2}"; stop;
}
if header :matches "Subject" "[*] *" {
    fileinto "INBOX.lists.${1}/${2}"; stop;
}
if address :matches ["To", "Cc"] ["coyote@**.com", "wile@**.com"] {
    fileinto "INBOX.business.${2}|${1}|${0}"; stop;
}
`
	cases := []struct{ msg, want string }{
		{"List-ID: Sieve list <sieve@ietf.org>\nSubject: x\n\n", "INBOX.lists.sieve"},
		{"Subject: [acme-users] [fwd] version 1.0 is out\n\n", "INBOX.lists.acme-users/[fwd] version 1.0 is out"},
		{"To: coyote@ACME.Example.COM\n\n", "INBOX.business.ACME.Example||coyote@ACME.Example.COM"},
	}
	for _, c := range cases {
		checkActions(t, c.want, run(t, script, c.msg, testEnv()), []Action{FileInto{Mailbox: c.want}})
	}
}

func TestSetModifiers(t *testing.T) {
	// RFC 5229 §4.1 examples.
	cases := []struct{ set, want string }{
		{`set :length "b" "${a}";`, "15"},
		{`set :lower "b" "${a}";`, "jumbled letters"},
		{`set :upperfirst "b" "${a}";`, "JuMBlEd lETteRS"},
		{`set :upper :lowerfirst "b" "${a}";`, "jUMBLED LETTERS"},
		{`set :quotewildcard "b" "Rock*";`, `Rock\*`},
		{`set "b" "${unknown}x${A}";`, "xjuMBlEd lETteRS"},
		{`set "b" "${bad-name}";`, "${bad-name}"},
		{`set "b" "${1}";`, ""},
	}
	for _, c := range cases {
		script := `require ["variables", "fileinto"]; set "a" "juMBlEd lETteRS"; ` + c.set + ` fileinto "v:${b}";`
		checkActions(t, c.set, run(t, script, baseMsg, testEnv()), []Action{FileInto{Mailbox: "v:" + c.want}})
	}
}

func TestStringTest(t *testing.T) {
	script := `require ["variables", "relational", "comparator-i;ascii-numeric"];
set "state" "${state} pending";
if string :matches " ${state} " "* pending *" { addflag "x"; }
if string :count "eq" :comparator "i;ascii-numeric" ["", "a", "b"] "2" { discard; }`
	s, err := Compile([]byte(script), Limits{})
	if err == nil || !strings.Contains(err.Error(), "addflag") {
		t.Fatalf("addflag without imap4flags compiled: %v", err)
	}
	_ = s
	script = strings.Replace(script, `"variables",`, `"variables", "imap4flags",`, 1)
	checkActions(t, "string", run(t, script, baseMsg, testEnv()), []Action{Discard{}})
}

func TestImap4Flags(t *testing.T) {
	cases := []struct {
		name, script string
		want         []Action
	}{
		{"setflag implicit keep", `require "imap4flags"; setflag "\\Seen \\Flagged";`, []Action{implicitKeep(`\Seen`, `\Flagged`)}},
		{"addflag removeflag", `require "imap4flags"; addflag ["a", "b"]; addflag "A c"; removeflag "b";`, []Action{implicitKeep("a", "c")}},
		{"fileinto flags", `require ["imap4flags", "fileinto"]; setflag "x"; fileinto :flags "\\Deleted" "Trash"; fileinto "Other";`,
			[]Action{FileInto{Mailbox: "Trash", Flags: []string{`\Deleted`}}, FileInto{Mailbox: "Other", Flags: []string{"x"}}}},
		{"keep flags", `require "imap4flags"; keep :flags "\\Seen";`, []Action{Keep{Flags: []string{`\Seen`}}}},
		{"hasflag", `require "imap4flags"; setflag "\\Seen"; if hasflag :is "\\seen" { discard; }`, []Action{Discard{}}},
		{"hasflag variable", `require ["imap4flags", "variables"]; set "v" "a b"; addflag "v" "c"; if hasflag :contains "v" "c" { discard; }`, []Action{Discard{}}},
		{"hasflag count", `require ["imap4flags", "relational", "comparator-i;ascii-numeric"]; setflag "a b c";
			if hasflag :count "ge" :comparator "i;ascii-numeric" "3" { discard; }`, []Action{Discard{}}},
		// RFC 5232 §5 example.
		{"rfc example", `require ["imap4flags", "fileinto"];
			if header :contains "from" "coyote" { setflag "\\Flagged"; fileinto "important"; }`,
			[]Action{FileInto{Mailbox: "important", Flags: []string{`\Flagged`}}}},
	}
	for _, c := range cases {
		checkActions(t, c.name, run(t, c.script, baseMsg, testEnv()), c.want)
	}
}

func TestCopyMailboxReject(t *testing.T) {
	cases := []struct {
		name, script string
		want         []Action
	}{
		{"fileinto copy", `require ["copy", "fileinto"]; fileinto :copy "incoming";`, []Action{FileInto{Mailbox: "incoming", Copy: true}, implicitKeep()}},
		{"redirect copy", `require "copy"; redirect :copy "a@example.net";`, []Action{Redirect{Address: "a@example.net", Copy: true}, implicitKeep()}},
		{"fileinto create", `require ["fileinto", "mailbox"]; fileinto :create "INBOX.new";`, []Action{FileInto{Mailbox: "INBOX.new", Create: true}}},
		{"mailboxexists", `require ["fileinto", "mailbox"]; if mailboxexists "Archive" { fileinto "Archive"; }`, []Action{FileInto{Mailbox: "Archive"}}},
		{"mailboxexists missing", `require ["fileinto", "mailbox"]; if mailboxexists ["Archive", "Nope"] { fileinto "Archive"; }`, []Action{implicitKeep()}},
		{"reject", `require "reject"; if header :contains "from" "coyote" { reject "I don't want to read these messages."; }`,
			[]Action{Reject{Reason: "I don't want to read these messages."}}},
		{"ereject", `require "ereject"; ereject "no";`, []Action{Reject{Reason: "no", Extended: true}}},
		{"reject with redirect copy-less is fine before", `require "reject"; discard; reject "x";`, []Action{Discard{}, Reject{Reason: "x"}}},
	}
	for _, c := range cases {
		checkActions(t, c.name, run(t, c.script, baseMsg, testEnv()), c.want)
	}
}

// A reject that conflicts with delivery fails the evaluation (RFC 5429
// §2.1), and the caller gets the implicit keep.
func TestRejectConflicts(t *testing.T) {
	for _, script := range []string{
		`require ["reject", "fileinto"]; fileinto "x"; reject "no";`,
		`require ["reject", "fileinto"]; reject "no"; fileinto "x";`,
		`require ["reject"]; keep; reject "no";`,
		`require ["reject"]; reject "no"; redirect "a@example.net";`,
		`require ["reject", "vacation"]; vacation "away"; reject "no";`,
		`require ["reject", "ereject"]; reject "no"; ereject "no";`,
		`require "vacation"; vacation "a"; vacation "b";`,
	} {
		s, err := Compile([]byte(script), Limits{})
		if err != nil {
			t.Fatalf("%s: %v", script, err)
		}
		res, err := s.Evaluate(context.Background(), newTestMessage(t, baseMsg), testEnv())
		var re *RuntimeError
		if !errors.As(err, &re) {
			t.Errorf("%s: err = %v, want *RuntimeError", script, err)
		}
		checkActions(t, script, res, []Action{implicitKeep()})
	}
}

func TestSubaddress(t *testing.T) {
	// RFC 5233 §4 example.
	script := `require ["envelope", "subaddress", "fileinto"];
if envelope :user "to" "postmaster" { fileinto "inbox.postmaster"; stop; }
if envelope :detail :is "to" "mta-filters" { fileinto "inbox.ietf-mta-filters"; stop; }
if envelope :detail :is "to" "" { fileinto "inbox.empty-detail"; stop; }
if address :detail "cc" "urgent" { fileinto "urgent"; }`
	cases := []struct{ to, want string }{
		{"postmaster+x@example.com", "inbox.postmaster"},
		{"me+mta-filters@example.com", "inbox.ietf-mta-filters"},
		{"me+@example.com", "inbox.empty-detail"},
		{"me@example.com", "urgent"},
	}
	for _, c := range cases {
		env := testEnv()
		env.Envelope.To = c.to
		checkActions(t, c.to, run(t, script, baseMsg, env), []Action{FileInto{Mailbox: c.want}})
	}
}

func TestRelational(t *testing.T) {
	// RFC 5231 §6 example.
	script := `require ["relational", "comparator-i;ascii-numeric", "fileinto"];
if header :value "lt" :comparator "i;ascii-numeric" ["x-priority"] ["3"] { fileinto "Priority"; }
elsif address :count "gt" :comparator "i;ascii-numeric" ["to"] ["5"] { fileinto "More than 5 recipients"; }
elsif address :value "gt" :all :comparator "i;ascii-casemap" ["from"] ["M"] { fileinto "From N-Z"; }
else { fileinto "From A-M"; }
if allof (address :count "eq" :comparator "i;ascii-numeric" ["to", "cc"] ["1"],
          address :all :comparator "i;ascii-casemap" ["to", "cc"] ["me@foo.example.com"]) { fileinto "Only me"; }`
	cases := []struct {
		msg  string
		want []Action
	}{
		{"X-Priority: 1\nFrom: a@x\nTo: me@foo.example.com\n\n", []Action{FileInto{Mailbox: "Priority"}, FileInto{Mailbox: "Only me"}}},
		{"X-Priority: 3\nFrom: a@x\nTo: a@x, b@x, c@x, d@x, e@x, f@x\n\n", []Action{FileInto{Mailbox: "More than 5 recipients"}}},
		{"X-Priority: abc\nFrom: zed@x\nTo: a@x\n\n", []Action{FileInto{Mailbox: "From N-Z"}}},
		{"From: bob@x\nTo: a@x\nCc: b@x\n\n", []Action{FileInto{Mailbox: "From A-M"}}},
	}
	for i, c := range cases {
		checkActions(t, "case "+itoa(i), run(t, script, c.msg, testEnv()), c.want)
	}
}

func TestNumericComparator(t *testing.T) {
	cases := []struct {
		a, b string
		want int
	}{
		{"10", "9", 1}, {"007", "7", 0}, {"abc", "999999999999999999999999", 1}, {"", "x", 0}, {"12abc", "12", 0}, {"0", "", -1},
	}
	for _, c := range cases {
		if got := compareNumeric(c.a, c.b); got != c.want {
			t.Errorf("compareNumeric(%q,%q) = %d, want %d", c.a, c.b, got, c.want)
		}
	}
}

func TestGlob(t *testing.T) {
	cases := []struct {
		s, p string
		ok   bool
		caps []string
	}{
		{"abc", "a*", true, []string{"bc"}},
		{"abc", "*", true, []string{"abc"}},
		{"", "*", true, []string{""}},
		{"", "?", false, nil},
		{"a*c", `a\*c`, true, []string{}},
		{"abc", `a\*c`, false, nil},
		{"[acme] [fwd] x", "[*] *", true, []string{"acme", "[fwd] x"}},
		{"héllo", "h?llo", true, []string{"é"}},
		{"aXbXc", "*X*", true, []string{"a", "bXc"}},
		{"ABC", "a?c", true, []string{"B"}},
	}
	for _, c := range cases {
		steps := 0
		caps, ok := globMatch("i;ascii-casemap", c.s, c.p, &steps, 1<<30)
		if ok != c.ok || (ok && !reflect.DeepEqual(caps, c.caps)) && !(len(caps) == 0 && len(c.caps) == 0) {
			t.Errorf("globMatch(%q, %q) = %q %v, want %q %v", c.s, c.p, caps, ok, c.caps, c.ok)
		}
	}
	// A pathological pattern stays linear in pattern×text.
	steps := 0
	if _, ok := globMatch("i;octet", strings.Repeat("a", 2000), strings.Repeat("*a", 50)+"b", &steps, 1<<30); ok {
		t.Fatal("matched")
	}
	if steps > 2000*101*2 {
		t.Fatalf("glob used %d steps", steps)
	}
}

func TestBody(t *testing.T) {
	multi := "From: a@x\nMIME-Version: 1.0\nContent-Type: multipart/alternative; boundary=B\n\n--B\nContent-Type: text/plain\n\nplain anvil\n--B\nContent-Type: text/html\n\n<b>html roadrunner</b>\n--B\nContent-Type: application/octet-stream\n\nbinary acme\n--B--\n"
	cases := []struct {
		name, script, msg string
		want              []Action
	}{
		{"text", `require "body"; if body :text :contains "anvil" { discard; }`, baseMsg, []Action{Discard{}}},
		{"default transform is text", `require "body"; if body :contains "roadrunner" { discard; }`, multi, []Action{Discard{}}},
		{"text skips binary", `require "body"; if body :text :contains "acme" { discard; }`, multi, []Action{implicitKeep()}},
		{"raw", `require "body"; if body :raw :contains "boundary" { discard; }`, multi, []Action{implicitKeep()}},
		{"raw sees mime", `require "body"; if body :raw :contains "Content-Type: text/html" { discard; }`, multi, []Action{Discard{}}},
		{"content html", `require "body"; if body :content "text/html" :contains "roadrunner" { discard; }`, multi, []Action{Discard{}}},
		{"content html not plain", `require "body"; if body :content "text/html" :contains "anvil" { discard; }`, multi, []Action{implicitKeep()}},
		{"content application", `require "body"; if body :content "application" :contains "acme" { discard; }`, multi, []Action{Discard{}}},
	}
	for _, c := range cases {
		checkActions(t, c.name, run(t, c.script, c.msg, testEnv()), c.want)
	}
}

func TestDateIndex(t *testing.T) {
	cases := []struct {
		name, script string
		want         []Action
	}{
		// RFC 5260 §4.3 example, with the message's own zone.
		{"business hours", `require ["date", "relational", "fileinto"];
			if allof (header :contains "from" "coyote",
			          date :value "ge" :originalzone "date" "hour" "09",
			          date :value "lt" :originalzone "date" "hour" "17") { fileinto "urgent"; }`, []Action{FileInto{Mailbox: "urgent"}}},
		{"local zone is the clock's", `require ["date"]; if date :is "date" "hour" "09" { discard; }`, []Action{Discard{}}},
		{"zone", `require ["date"]; if date :zone "-0500" :is "date" "iso8601" "2026-12-01T04:00:00-05:00" { discard; }`, []Action{Discard{}}},
		{"date part", `require ["date"]; if allof(date :is "date" "date" "2026-12-01", date :is "date" "weekday" "2", date :is "date" "julian" "61375") { discard; }`, []Action{Discard{}}},
		{"std11", `require ["date"]; if date :originalzone :is "date" "std11" "Tue, 01 Dec 2026 10:00:00 +0100" { discard; }`, []Action{Discard{}}},
		{"currentdate", `require ["date", "relational"]; if allof(currentdate :is "year" "2026", currentdate :value "ge" "time" "10:59:59") { discard; }`, []Action{Discard{}}},
		{"missing header", `require ["date"]; if date :matches "x-none" "date" "*" { discard; }`, []Action{implicitKeep()}},
		{"received", `require ["date", "index"]; if date :index 1 :last "received" "year" "2025" { discard; }`, []Action{Discard{}}},
		{"header index", `require "index"; if header :index 2 :is "received" "from b by c; Wed, 1 Jan 2025 10:00:00 +0000" { discard; }`, []Action{Discard{}}},
		{"header index last", `require "index"; if header :index 1 :last :contains "received" "from a" { discard; }`, []Action{implicitKeep()}},
		{"address index", `require "index"; if address :index 2 :is "to" "x@y.org" { discard; }`, []Action{Discard{}}},
	}
	msg := "Received: from a by b; Tue, 1 Dec 2026 10:00:00 +0000\nReceived: from b by c; Wed, 1 Jan 2025 10:00:00 +0000\nTo: me@example.com\nTo: x@y.org\n" + baseMsg
	for _, c := range cases {
		checkActions(t, c.name, run(t, c.script, msg, testEnv()), c.want)
	}
}

func TestEditHeader(t *testing.T) {
	cases := []struct {
		name, script string
		want         []Action
	}{
		{"addheader visible to tests", `require "editheader"; addheader "X-Sieve" "yes"; if header :is "x-sieve" "yes" { discard; }`,
			[]Action{AddHeader{Name: "X-Sieve", Value: "yes"}, Discard{}}},
		{"addheader last", `require ["editheader", "index"]; addheader "Cc" "a@x"; addheader :last "Cc" "b@x";
			if address :index 1 :last :is "cc" "b@x" { discard; }`,
			[]Action{AddHeader{Name: "Cc", Value: "a@x"}, AddHeader{Name: "Cc", Value: "b@x", Last: true}, Discard{}}},
		{"deleteheader", `require "editheader"; deleteheader "X-Caffeine"; if not exists "x-caffeine" { discard; }`,
			[]Action{DeleteHeader{Name: "X-Caffeine", Index: 1}, Discard{}}},
		{"deleteheader value", `require "editheader"; addheader "X-A" "1"; addheader "X-A" "2"; addheader "X-A" "3"; deleteheader :matches "x-a" ["1", "3"];`,
			[]Action{AddHeader{Name: "X-A", Value: "1"}, AddHeader{Name: "X-A", Value: "2"}, AddHeader{Name: "X-A", Value: "3"},
				DeleteHeader{Name: "x-a", Index: 3}, DeleteHeader{Name: "x-a", Index: 1}, implicitKeep()}},
		{"deleteheader index last", `require "editheader"; addheader "X-A" "1"; addheader "X-A" "2"; deleteheader :index 1 :last "X-A";
			if header :is "x-a" "1" { discard; }`,
			[]Action{AddHeader{Name: "X-A", Value: "1"}, AddHeader{Name: "X-A", Value: "2"}, DeleteHeader{Name: "X-A", Index: 2}, implicitKeep()}},
		{"protected", `require "editheader"; deleteheader "Received"; addheader "Auto-Submitted" "no";`, []Action{implicitKeep()}},
	}
	for _, c := range cases {
		checkActions(t, c.name, run(t, c.script, baseMsg, testEnv()), c.want)
	}
}

func TestDuplicate(t *testing.T) {
	st := &fakeState{duplicate: map[string]time.Time{"\x00<1234@desert.example.org>": testNow.Add(-time.Hour)}}
	env := testEnv()
	env.State = st
	script := `require ["duplicate", "fileinto"]; if duplicate { fileinto "Trash"; }`
	res := run(t, script, baseMsg, env)
	checkActions(t, "seen", res, []Action{FileInto{Mailbox: "Trash"}})
	if len(res.Duplicates) != 0 {
		t.Errorf("seen id recorded again without :last: %v", res.Duplicates)
	}
	res = run(t, `require "duplicate"; if duplicate :seconds 1800 { discard; }`, baseMsg, env)
	checkActions(t, "expired", res, []Action{implicitKeep()})
	want := []DuplicateRecord{{ID: "<1234@desert.example.org>", Period: 30 * time.Minute}}
	if !reflect.DeepEqual(res.Duplicates, want) {
		t.Errorf("records %v, want %v", res.Duplicates, want)
	}
	res = run(t, `require ["duplicate", "variables"]; if header :matches "subject" "*" { if duplicate :handle "subj" :uniqueid "${1}" { discard; } }`, baseMsg, env)
	want = []DuplicateRecord{{Handle: "subj", ID: "I have a present for you", Period: 12 * time.Hour}}
	if !reflect.DeepEqual(res.Duplicates, want) {
		t.Errorf("records %v, want %v", res.Duplicates, want)
	}
}

func TestInclude(t *testing.T) {
	env := testEnv()
	env.Scripts = fakeScripts{
		"personal/lists":  `require ["include", "variables", "fileinto"]; global "box"; if header :contains "subject" "present" { fileinto "${box}"; return; } discard;`,
		"global/spam":     `require "fileinto"; fileinto "Spam"; stop;`,
		"personal/loop":   `require "include"; include "loop";`,
		"personal/local":  `require ["variables", "fileinto"]; fileinto "x${box}";`,
		"personal/broken": `nope;`,
	}
	cases := []struct {
		name, script string
		want         []Action
		fails        bool
	}{
		{"global variable and return", `require ["include", "variables"]; global "box"; set "box" "Gifts"; include "lists"; keep;`,
			[]Action{FileInto{Mailbox: "Gifts"}, Keep{}}, false},
		{"stop in included stops all", `require ["include"]; include :global "spam"; keep;`, []Action{FileInto{Mailbox: "Spam"}}, false},
		{"once", `require ["include", "variables"]; global "box"; set "box" "B"; include :once "lists"; include :once "lists";`,
			[]Action{FileInto{Mailbox: "B"}}, false},
		{"local variables not shared", `require ["include", "variables"]; set "box" "B"; include "local";`, []Action{FileInto{Mailbox: "x"}}, false},
		{"optional missing", `require "include"; include :optional "none"; keep;`, []Action{Keep{}}, false},
		{"missing fails", `require "include"; include "none";`, nil, true},
		{"cycle fails", `require "include"; include "loop";`, nil, true},
		{"broken fails", `require "include"; include "broken";`, nil, true},
	}
	for _, c := range cases {
		s, err := Compile([]byte(c.script), Limits{})
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		res, err := s.Evaluate(context.Background(), newTestMessage(t, baseMsg), env)
		if c.fails {
			if err == nil {
				t.Errorf("%s: no error", c.name)
			}
			checkActions(t, c.name, res, []Action{implicitKeep()})
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		checkActions(t, c.name, res, c.want)
	}
}

func TestRegex(t *testing.T) {
	cases := []struct {
		name, script string
		want         []Action
	}{
		{"match", `require "regex"; if header :regex "subject" "^I (have|had) a" { discard; }`, []Action{Discard{}}},
		{"casemap", `require "regex"; if header :regex "subject" "^i HAVE" { discard; }`, []Action{Discard{}}},
		{"octet", `require "regex"; if header :regex :comparator "i;octet" "subject" "^i HAVE" { discard; }`, []Action{implicitKeep()}},
		{"groups", `require ["regex", "variables", "fileinto"]; if address :regex "from" "^([a-z]+)@([a-z]+)\\." { fileinto "${2}-${1}"; }`,
			[]Action{FileInto{Mailbox: "desert-coyote"}}},
		{"quoteregex", `require ["regex", "variables"]; set :quoteregex "q" "a.b"; if string :regex "axb" "^${q}$" { discard; }`, []Action{implicitKeep()}},
	}
	for _, c := range cases {
		checkActions(t, c.name, run(t, c.script, baseMsg, testEnv()), c.want)
	}
}

func TestSpamtest(t *testing.T) {
	script := `require ["spamtest", "relational", "comparator-i;ascii-numeric", "fileinto"];
if spamtest :value "eq" :comparator "i;ascii-numeric" "0" { fileinto "untested"; }
elsif spamtest :value "ge" :comparator "i;ascii-numeric" "6" { fileinto "Junk"; }`
	env := testEnv()
	checkActions(t, "untested", run(t, script, baseMsg, env), []Action{FileInto{Mailbox: "untested"}})
	env.Spam = &TestScore{Value: 8, Percent: 75}
	checkActions(t, "spam", run(t, script, baseMsg, env), []Action{FileInto{Mailbox: "Junk"}})
	env.Spam = &TestScore{Value: 2}
	checkActions(t, "ham", run(t, script, baseMsg, env), []Action{implicitKeep()})
	env.Spam = &TestScore{Value: 8, Percent: 75}
	checkActions(t, "percent", run(t, `require ["spamtestplus", "relational"]; if spamtest :percent :value "gt" "50" { discard; }`, baseMsg, env), []Action{Discard{}})
	env.Virus = &TestScore{Value: 5}
	checkActions(t, "virus", run(t, `require ["virustest", "relational"]; if virustest :value "ge" "4" { discard; }`, baseMsg, env), []Action{Discard{}})
}
