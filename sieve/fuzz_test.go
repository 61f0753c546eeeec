package sieve

import (
	"context"
	"testing"
)

var fuzzSeeds = []string{
	rfc5228Example,
	`require ["variables", "fileinto", "imap4flags"]; if header :matches "Subject" "[*] *" { setflag "\\Seen"; fileinto "${1}"; }`,
	`require ["vacation", "relational", "comparator-i;ascii-numeric"]; if header :count "ge" :comparator "i;ascii-numeric" "to" "2" { vacation :days 3 "x"; }`,
	"require \"encoded-character\"; redirect text:\n${hex:40}\n..\n.\n;",
	`require ["regex", "variables", "editheader", "body", "date", "index"]; if body :regex "(a+)+$" { addheader "X" "${1}"; } if date :index 1 :is "date" "year" "2026" { deleteheader :index 1 "x"; }`,
	`require ["include", "duplicate", "mailbox", "copy", "fileinto"]; if duplicate :seconds 60 { fileinto :copy :create "Dups"; } include :optional "x";`,
	`if allof (not exists "x", anyof(true, false), size :over 1K) { stop; } elsif address :domain :is "from" "a" { discard; } else { redirect "a@b.c"; }`,
	`/* c */ # c
	if`,
}

// FuzzParse: the lexer, parser and validator never panic and honour the
// limits on any input.
func FuzzParse(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	lim := Limits{MaxScriptSize: 64 << 10, MaxNesting: 16, MaxStringLength: 4096, MaxListLength: 64}
	f.Fuzz(func(t *testing.T, src []byte) {
		s, err := Compile(src, lim)
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("error %T %v is not *Error", err, err)
			}
			return
		}
		if len(src) > lim.MaxScriptSize {
			t.Fatalf("accepted a %d byte script", len(src))
		}
		_ = s.Requires()
	})
}

// FuzzEvaluate: random script × random message: no panic, the step and
// action limits hold, and a failed evaluation yields the implicit keep.
func FuzzEvaluate(f *testing.F) {
	for i, s := range fuzzSeeds {
		msg := baseMsg
		if i%2 == 1 {
			msg = "Subject: [x] y\nTo: a@b.c, d@e\nDate: Tue, 1 Dec 2026 10:00:00 +0100\nContent-Type: multipart/mixed; boundary=b\n\n--b\n\naaaaaaaaaaaaaaaaaaaaaa!\n--b--\n"
		}
		f.Add(s, msg)
	}
	lim := Limits{MaxScriptSize: 16 << 10, MaxSteps: 5000, MaxActions: 8, MaxHeaderEdits: 8}
	f.Fuzz(func(t *testing.T, src, raw string) {
		s, err := Compile([]byte(src), lim)
		if err != nil {
			return
		}
		env := testEnv()
		env.Scripts = fakeScripts{"personal/x": src}
		res, err := s.Evaluate(context.Background(), newTestMessage(nil, raw), env)
		if res == nil {
			t.Fatal("nil result")
		}
		if res.Steps > 5000+len(raw)/1024+1100 {
			t.Fatalf("used %d steps", res.Steps)
		}
		if err != nil {
			if len(res.Actions) != 1 {
				t.Fatalf("failed evaluation gave %#v", res.Actions)
			}
			if k, ok := res.Actions[0].(Keep); !ok || !k.Implicit {
				t.Fatalf("failed evaluation gave %#v", res.Actions)
			}
			return
		}
		if len(res.Actions) > 8+8+1 {
			t.Fatalf("%d actions", len(res.Actions))
		}
	})
}
