package sieve

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestVacationRFC5230Example(t *testing.T) {
	script := `require "vacation";
if header :contains "subject" "cyrus" {
    vacation "I'm out -- send mail to cyrus-bugs";
} else {
    vacation "I'm out -- call me at +1 304 555 0123";
}`
	res := run(t, script, baseMsg, testEnv())
	if len(res.Actions) != 2 {
		t.Fatalf("actions %#v", res.Actions)
	}
	v, ok := res.Actions[0].(Vacation)
	if !ok {
		t.Fatalf("first action %#v", res.Actions[0])
	}
	if v.To != "sender@example.org" || v.From != "me@example.com" || v.Subject != "Auto: I have a present for you" ||
		v.Reason != "I'm out -- call me at +1 304 555 0123" || v.Period != 7*24*time.Hour ||
		v.InReplyTo != "<1234@desert.example.org>" || v.References != "<1234@desert.example.org>" || v.Handle == "" {
		t.Errorf("vacation %#v", v)
	}
	if _, ok := res.Actions[1].(Keep); !ok {
		t.Errorf("vacation cancelled the implicit keep: %#v", res.Actions)
	}
}

func TestVacationTags(t *testing.T) {
	script := `require ["vacation", "vacation-seconds"];
vacation :seconds 7200 :subject "Away" :from "Me <me@example.com>" :addresses ["alias@example.com"] :mime :handle "h1" "Content-Type: text/plain\r\n\r\nAway.";`
	env := testEnv()
	env.Envelope.To = "other@example.com"
	env.UserAddresses = nil
	lim := Limits{VacationMinPeriod: time.Hour}
	s, err := Compile([]byte(script), lim)
	if err != nil {
		t.Fatal(err)
	}
	// alias@example.com is the visible recipient.
	msg := strings.Replace(baseMsg, "To: me@example.com", "To: alias@example.com", 1)
	res, err := s.Evaluate(context.Background(), newTestMessage(t, msg), env)
	if err != nil {
		t.Fatal(err)
	}
	v := res.Actions[0].(Vacation)
	if v.Period != 2*time.Hour || v.Subject != "Away" || v.From != "Me <me@example.com>" || !v.MIME || v.Handle != "h1" {
		t.Errorf("vacation %#v", v)
	}
}

// RFC 3834 §2 / RFC 5230 §4.5: cases where no reply may be sent.
func TestVacationSuppressed(t *testing.T) {
	script := `require "vacation"; vacation :days 3 :handle "h" "away";`
	replied := &fakeState{vacation: map[string]time.Time{"h\x00sender@example.org": testNow.Add(-48 * time.Hour)}}
	old := &fakeState{vacation: map[string]time.Time{"h\x00sender@example.org": testNow.Add(-4 * 24 * time.Hour)}}
	cases := []struct {
		name   string
		from   string
		header string
		state  *fakeState
		toMe   bool
		reply  bool
	}{
		{"plain", "sender@example.org", "", nil, true, true},
		{"null sender", "", "", nil, true, false},
		{"mailer-daemon", "MAILER-DAEMON@example.org", "", nil, true, false},
		{"owner-", "owner-list@example.org", "", nil, true, false},
		{"-request", "list-request@example.org", "", nil, true, false},
		{"ourselves", "me@example.com", "", nil, true, false},
		{"auto-submitted", "sender@example.org", "Auto-Submitted: auto-replied\n", nil, true, false},
		{"auto-submitted no", "sender@example.org", "Auto-Submitted: no\n", nil, true, true},
		{"precedence bulk", "sender@example.org", "Precedence: bulk\n", nil, true, false},
		{"precedence junk", "sender@example.org", "Precedence: JUNK\n", nil, true, false},
		{"list-id", "sender@example.org", "List-Id: <l.example.org>\n", nil, true, false},
		{"not a recipient", "sender@example.org", "", nil, false, false},
		{"original recipient visible", "sender@example.org", "Cc: alias@example.com\n", nil, false, true},
		{"replied within days", "sender@example.org", "", replied, true, false},
		{"replied before days", "sender@example.org", "", old, true, true},
	}
	for _, c := range cases {
		env := testEnv()
		env.Envelope.From = c.from
		env.Envelope.OrigTo = "alias@example.com"
		if c.state != nil {
			env.State = c.state
		}
		msg := c.header + baseMsg
		if !c.toMe {
			msg = strings.Replace(msg, "To: me@example.com,", "To:", 1)
		}
		res := run(t, script, msg, env)
		got := false
		for _, a := range res.Actions {
			if _, ok := a.(Vacation); ok {
				got = true
			}
		}
		if got != c.reply {
			t.Errorf("%s: reply = %v, want %v", c.name, got, c.reply)
		}
		if !got && len(res.Notes) != 1 {
			t.Errorf("%s: no note says why there is no reply: %q", c.name, res.Notes)
		}
	}
}

func TestVacationNote(t *testing.T) {
	res := run(t, `require "vacation";
vacation "x";`, "Precedence: bulk\n"+baseMsg, testEnv())
	want := []string{`line 2: vacation: no reply to "sender@example.org": Precedence: bulk`}
	if !reflect.DeepEqual(res.Notes, want) {
		t.Errorf("notes %q, want %q", res.Notes, want)
	}
}

func TestVacationPeriodClamp(t *testing.T) {
	cases := []struct {
		script string
		want   time.Duration
	}{
		{`require "vacation"; vacation :days 0 "x";`, 24 * time.Hour},
		{`require "vacation"; vacation :days 1000 "x";`, 90 * 24 * time.Hour},
		{`require ["vacation", "vacation-seconds"]; vacation :seconds 10 "x";`, 24 * time.Hour},
	}
	for _, c := range cases {
		res := run(t, c.script, baseMsg, testEnv())
		if v := res.Actions[0].(Vacation); v.Period != c.want {
			t.Errorf("%s: period %v, want %v", c.script, v.Period, c.want)
		}
	}
}
