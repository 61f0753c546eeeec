package sieve

import (
	"bytes"
	"context"
	"io"
	"mime"
	"mime/multipart"
	"reflect"
	"strings"
	"testing"
	"time"
)

// testMessage implements Message over a raw RFC 5322 message with the
// standard library, the way the delivery path will over message.Part.
type testMessage struct {
	raw    []byte
	fields []field
	body   []byte
}

type field struct{ name, value, raw string }

func newTestMessage(t testing.TB, raw string) *testMessage {
	if t != nil {
		t.Helper()
	}
	raw = strings.ReplaceAll(strings.ReplaceAll(raw, "\r\n", "\n"), "\n", "\r\n")
	m := &testMessage{raw: []byte(raw)}
	head, body, ok := strings.Cut(raw, "\r\n\r\n")
	if !ok {
		head, body = strings.TrimSuffix(raw, "\r\n"), ""
	}
	m.body = []byte(body)
	dec := mime.WordDecoder{CharsetReader: func(string, io.Reader) (io.Reader, error) { return nil, io.EOF }}
	for _, line := range strings.Split(head, "\r\n") {
		if line == "" {
			continue
		}
		if (line[0] == ' ' || line[0] == '\t') && len(m.fields) > 0 {
			m.fields[len(m.fields)-1].value += line
			m.fields[len(m.fields)-1].raw += line
			continue
		}
		name, value, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		value = strings.TrimSpace(value)
		raw := value
		if d, err := dec.DecodeHeader(value); err == nil {
			value = d
		}
		m.fields = append(m.fields, field{strings.TrimSpace(name), value, raw})
	}
	return m
}

func (m *testMessage) Header(name string) []string {
	var out []string
	for _, f := range m.fields {
		if strings.EqualFold(f.name, name) {
			out = append(out, f.value)
		}
	}
	return out
}

// rawMessage adds RawHeader to testMessage.
type rawMessage struct{ *testMessage }

func (m rawMessage) RawHeader(name string) []string {
	var out []string
	for _, f := range m.fields {
		if strings.EqualFold(f.name, name) {
			out = append(out, f.raw)
		}
	}
	return out
}

var _ RawHeaderMessage = rawMessage{}

func (m *testMessage) Size() int64 { return int64(len(m.raw)) }

func (m *testMessage) Body(tr BodyTransform, types []string) ([]string, error) {
	if tr == BodyRaw {
		return []string{string(m.body)}, nil
	}
	ct := "text/plain"
	if v := m.Header("Content-Type"); len(v) > 0 {
		ct = v[0]
	}
	var out []string
	walkParts(ct, m.body, func(ctype string, body []byte) {
		want := false
		if tr == BodyText {
			want = strings.HasPrefix(ctype, "text/")
		}
		for _, t := range types {
			if t == "" || t == ctype || (!strings.Contains(t, "/") && strings.HasPrefix(ctype, strings.ToLower(t)+"/")) {
				want = true
			}
		}
		if want {
			out = append(out, string(body))
		}
	}, 0)
	return out, nil
}

func walkParts(ct string, body []byte, fn func(string, []byte), depth int) {
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil {
		mt = "text/plain"
	}
	if !strings.HasPrefix(mt, "multipart/") || depth > 5 {
		fn(mt, body)
		return
	}
	mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
	for {
		p, err := mr.NextRawPart()
		if err != nil {
			return
		}
		b, _ := io.ReadAll(p)
		pct := p.Header.Get("Content-Type")
		if pct == "" {
			pct = "text/plain"
		}
		walkParts(pct, b, fn, depth+1)
	}
}

var _ Message = (*testMessage)(nil)

// fakeState is an in-memory State.
type fakeState struct {
	vacation  map[string]time.Time // handle+"\x00"+sender
	duplicate map[string]time.Time
}

func (s *fakeState) VacationReplied(_ context.Context, handle, sender string, since time.Time) (bool, error) {
	t, ok := s.vacation[handle+"\x00"+sender]
	return ok && !t.Before(since), nil
}

func (s *fakeState) DuplicateSeen(_ context.Context, handle, id string, since time.Time) (bool, error) {
	t, ok := s.duplicate[handle+"\x00"+id]
	return ok && !t.Before(since), nil
}

var _ State = (*fakeState)(nil)

type fakeMailboxes map[string]bool

func (f fakeMailboxes) MailboxExists(_ context.Context, name string) (bool, error) {
	return f[name], nil
}

type fakeScripts map[string]string // "global/name" or "personal/name"

func (f fakeScripts) LoadScript(_ context.Context, name string, global bool) ([]byte, error) {
	key := "personal/" + name
	if global {
		key = "global/" + name
	}
	s, ok := f[key]
	if !ok {
		return nil, ErrScriptNotFound
	}
	return []byte(s), nil
}

var testNow = time.Date(2026, 12, 2, 11, 0, 0, 0, time.UTC)

func testEnv() Env {
	return Env{
		Envelope:      Envelope{From: "sender@example.org", To: "me@example.com"},
		UserAddresses: []string{"me@example.com"},
		Now:           func() time.Time { return testNow },
		Mailboxes:     fakeMailboxes{"INBOX": true, "Archive": true},
		State:         &fakeState{},
	}
}

const baseMsg = `Date: Tue, 1 Dec 2026 10:00:00 +0100
From: Coyote <coyote@desert.example.org>
To: me@example.com, friend@example.net
Cc: boss+urgent@example.com
Subject: I have a present for you
Message-ID: <1234@desert.example.org>
X-Caffeine: C8H10N4O2

Look, I'm sorry about the whole anvil thing, and I really
didn't mean to try and drop it on you from the top of the
cliff.
`

// run compiles and evaluates src, failing the test on errors.
func run(t *testing.T, src, msg string, env Env) *Result {
	t.Helper()
	s, err := Compile([]byte(src), Limits{})
	if err != nil {
		t.Fatalf("compile: %v\n%s", err, src)
	}
	res, err := s.Evaluate(context.Background(), newTestMessage(t, msg), env)
	if err != nil {
		t.Fatalf("evaluate: %v\n%s", err, src)
	}
	return res
}

func implicitKeep(flags ...string) Keep { return Keep{Implicit: true, Flags: flags} }

func checkActions(t *testing.T, name string, got *Result, want []Action) {
	t.Helper()
	if len(want) == 0 {
		want = nil
	}
	if !reflect.DeepEqual(got.Actions, want) {
		t.Errorf("%s: actions\n got  %#v\n want %#v", name, got.Actions, want)
	}
}
