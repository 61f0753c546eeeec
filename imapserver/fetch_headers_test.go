package imapserver

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/mailroom/mailroom/imapserver/imapmsg"
	"github.com/mailroom/mailroom/message"
	"github.com/mailroom/mailroom/store"
	"github.com/mailroom/mailroom/store/storetest"
)

// headerReadStore counts the reads FETCH makes of message bytes.
type headerReadStore struct {
	Store
	bodies, parts, lists, headers, trees atomic.Int64
}

func (s *headerReadStore) ListParts(ctx context.Context, mailboxID store.MailboxRef, uids []uint32, fn func(store.MessageMeta, *message.Part) error) error {
	s.trees.Add(1)
	return s.Store.ListParts(ctx, mailboxID, uids, fn)
}

func (s *headerReadStore) MessageBody(ctx context.Context, mbox store.MailboxRef, id int64) ([]byte, error) {
	s.bodies.Add(1)
	return s.Store.MessageBody(ctx, mbox, id)
}

func (s *headerReadStore) MessagePart(ctx context.Context, mbox store.MailboxRef, id int64) (*message.Part, error) {
	s.parts.Add(1)
	return s.Store.MessagePart(ctx, mbox, id)
}

func (s *headerReadStore) ListBodies(ctx context.Context, mailboxID store.MailboxRef, uids []uint32, fn func(store.MessageMeta, []byte) error) error {
	s.lists.Add(1)
	return s.Store.ListBodies(ctx, mailboxID, uids, fn)
}

// ReadBodies counts as ListBodies: FETCH reads its batches of bytes
// with it.
func (s *headerReadStore) ReadBodies(ctx context.Context, mailboxID store.MailboxRef, uids []uint32, fn func(int64, uint32, []byte) error) error {
	s.lists.Add(1)
	return s.Store.ReadBodies(ctx, mailboxID, uids, fn)
}

func (s *headerReadStore) ListHeaders(ctx context.Context, mailboxID store.MailboxRef, uids []uint32, fn func(store.MessageMeta, []byte) error) error {
	s.headers.Add(1)
	return s.Store.ListHeaders(ctx, mailboxID, uids, fn)
}

// ReadHeaders counts as ListHeaders: FETCH reads its batches of headers
// with it.
func (s *headerReadStore) ReadHeaders(ctx context.Context, mailboxID store.MailboxRef, uids []uint32, fn func(int64, uint32, []byte) error) error {
	s.headers.Add(1)
	return s.Store.ReadHeaders(ctx, mailboxID, uids, fn)
}

func (s *headerReadStore) reset() {
	s.bodies.Store(0)
	s.parts.Store(0)
	s.lists.Store(0)
	s.headers.Store(0)
	s.trees.Store(0)
}

func (s *headerReadStore) counts() string {
	return fmt.Sprintf("%d ListHeaders, %d ListBodies, %d MessageBody, %d MessagePart, %d ListParts",
		s.headers.Load(), s.lists.Load(), s.bodies.Load(), s.parts.Load(), s.trees.Load())
}

// deliverAsIs stores raw into INBOX without changing its line endings.
func deliverAsIs(t *testing.T, ts *testServer, raw string) {
	t.Helper()
	_, err := ts.st.Deliver(context.Background(), []store.Target{{AccountID: ts.acct.ID}},
		store.NewMessage{Raw: []byte(raw), Part: message.Parse([]byte(raw))})
	if err != nil {
		t.Fatal(err)
	}
}

// headerTestRaws have large bodies, bare LFs, no body or no header.
var headerTestRaws = []string{
	"From: Alice <a@example.org>\r\nTo: b@example.org\r\nSubject: crlf\r\nDate: Thu, 26 Nov 2026 09:00:00 +0000\r\nMessage-ID: <1@example.org>\r\n\r\n" + strings.Repeat("attachment line of base64 text QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo=\r\n", 5000),
	"From: Bob <b@example.org>\nTo: a@example.org,\n c@example.org\nSubject: bare\n LF, folded\nX-Other: x\n\n" + strings.Repeat("bare LF body line\n", 20000),
	"From: c@example.org\r\nSubject: no body at all\r\n",
	"Subject: only a header and the blank line\r\n\r\n",
	"\r\nno header: the message starts with the blank line\r\n",
	"not a header line\r\nSubject: in the body\r\n\r\ntext\r\n",
	"Subject: mixed\r\nFrom: d@example.org\n\r\nbody",
}

// TestFetchHeaders: a FETCH whose items need only the top-level header
// reads headers (ListHeaders), no bodies, and answers with exactly the
// bytes the whole message gives: the same response as with a body item
// added (which reads the bodies), minus that item. ENVELOPE alone reads
// the trees stored at delivery (ListParts) instead.
func TestFetchHeaders(t *testing.T) {
	hs := &headerReadStore{}
	ts := startTestServer(t, func(c *Config) { hs.Store = c.Store; c.Store = hs })
	for _, raw := range headerTestRaws {
		deliverAsIs(t, ts, raw)
	}
	n := len(headerTestRaws)
	tc := ts.login()
	tc.transactf("ok", "select INBOX")
	for _, items := range []string{
		"UID BODY.PEEK[HEADER.FIELDS (FROM TO SUBJECT DATE MESSAGE-ID)]",
		"ENVELOPE",
		"UID FLAGS ENVELOPE BODY.PEEK[HEADER] RFC822.HEADER",
		"BODY.PEEK[HEADER.FIELDS.NOT (SUBJECT X-OTHER)] BODY.PEEK[HEADER]<3.20> RFC822.SIZE",
	} {
		hs.reset()
		lines := tc.transactf("ok", "uid fetch 1:* (%s)", items)
		if items == "ENVELOPE" {
			if hs.trees.Load() != 1 || hs.headers.Load()+hs.lists.Load()+hs.bodies.Load()+hs.parts.Load() != 0 {
				t.Errorf("FETCH (%s): %s; want 1 ListParts only", items, hs.counts())
			}
		} else if hs.headers.Load() != 1 || hs.lists.Load()+hs.bodies.Load()+hs.parts.Load()+hs.trees.Load() != 0 {
			t.Errorf("FETCH (%s): %s; want 1 ListHeaders only", items, hs.counts())
		}
		if len(lines) != n {
			t.Fatalf("FETCH (%s): %d responses, want %d", items, len(lines), n)
		}
		hs.reset()
		ref := tc.transactf("ok", "uid fetch 1:* (%s BODY.PEEK[TEXT])", items)
		if hs.lists.Load() == 0 || hs.headers.Load() != 0 {
			t.Errorf("FETCH (%s BODY.PEEK[TEXT]): %s; want ListBodies", items, hs.counts())
		}
		for i, l := range lines {
			raw := []byte(headerTestRaws[i])
			text := string(raw[message.Parse(raw).BodyStart:])
			want := strings.TrimSuffix(ref[i], fmt.Sprintf(" BODY[TEXT] {%d}\r\n%s)", len(text), text)) + ")"
			if want == ref[i]+")" {
				t.Fatalf("message %d: reference response %q does not end in its text", i+1, ref[i])
			}
			if l != want {
				t.Errorf("FETCH (%s) of message %d:\n got %q\nwant %q", items, i+1, l, want)
			}
		}
	}

	// The bytes themselves, against the parser.
	for i, raw := range headerTestRaws {
		hdr := raw[:message.Parse([]byte(raw)).BodyStart]
		lines := tc.transactf("ok", "fetch %d (BODY.PEEK[HEADER])", i+1)
		if want := fmt.Sprintf("* %d FETCH (BODY[HEADER] {%d}\r\n%s)", i+1, len(hdr), hdr); lines[0] != want {
			t.Errorf("BODY[HEADER] of message %d: %q, want %q", i+1, lines[0], want)
		}
	}
	hasLine(t, tc.transactf("ok", "fetch 2 (ENVELOPE)"), `"bare LF, folded" (("Bob" NIL "b" "example.org")) `)
	hasLine(t, tc.transactf("ok", "fetch 5 (ENVELOPE)"), "* 5 FETCH (ENVELOPE (NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL))")

	// BODY[HEADER] without PEEK still sets \Seen.
	hasLine(t, tc.transactf("ok", "fetch 3 (BODY[HEADER])"), `* 3 FETCH (FLAGS (\Seen \Recent) BODY[HEADER] {`)

	// Items that need more than the header read the bodies.
	for _, items := range []string{"ENVELOPE BODYSTRUCTURE", "BODY.PEEK[HEADER] BODY.PEEK[]", "BODY.PEEK[1.HEADER]", "BINARY.PEEK[]", "RFC822.HEADER RFC822.TEXT"} {
		hs.reset()
		tc.transactf("ok", "fetch 1:* (%s)", items)
		if hs.headers.Load() != 0 {
			t.Errorf("FETCH (%s): %s; want no ListHeaders", items, hs.counts())
		}
	}
	// No bytes needed, none read.
	hs.reset()
	tc.transactf("ok", "fetch 1:* (UID FLAGS RFC822.SIZE INTERNALDATE)")
	if hs.headers.Load()+hs.lists.Load()+hs.bodies.Load()+hs.parts.Load() != 0 {
		t.Errorf("FETCH of metadata: %s; want none", hs.counts())
	}
}

// TestFetchHeadersBatched: headers are read a batch at a time, bounded in
// count and in the messages' total size.
func TestFetchHeadersBatched(t *testing.T) {
	hs := &headerReadStore{}
	ts := startTestServer(t, func(c *Config) { hs.Store = c.Store; c.Store = hs })
	ctx := context.Background()
	inbox := mustInbox(t, ts)
	var msgs []store.NewMessage
	for i := range headerBatchCount + 10 {
		raw := []byte(fmt.Sprintf("Subject: m%d\r\n\r\nbody\r\n", i))
		msgs = append(msgs, store.NewMessage{Raw: raw, Part: message.Parse(raw)})
	}
	if _, _, err := ts.st.Append(ctx, inbox, msgs); err != nil {
		t.Fatal(err)
	}
	// A small byte bound, so the test does not move 50 MB under -race.
	ts.srv.headerBatchBytes = 64 << 10
	big := "Subject: big\r\n\r\n" + strings.Repeat("x", int(ts.srv.headerBatchBytes/2))
	for range 3 {
		deliverAsIs(t, ts, big)
	}
	tc := ts.login()
	tc.transactf("ok", "select INBOX")
	hs.reset()
	lines := tc.transactf("ok", "fetch 1:* (BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
	if len(lines) != len(msgs)+3 {
		t.Fatalf("%d responses, want %d", len(lines), len(msgs)+3)
	}
	for i, l := range lines {
		subject := "big"
		if i < len(msgs) {
			subject = fmt.Sprintf("m%d", i)
		}
		if want := fmt.Sprintf("* %d FETCH (BODY[HEADER.FIELDS (SUBJECT)] {%d}\r\nSubject: %s\r\n\r\n)", i+1, len(subject)+13, subject); l != want {
			t.Fatalf("response %d: %q, want %q", i+1, l, want)
		}
	}
	// 256 small ones, 10 small and one big, then the two other big ones
	// one at a time.
	if hs.headers.Load() != 4 || hs.lists.Load()+hs.bodies.Load()+hs.parts.Load() != 0 {
		t.Errorf("%s; want 4 ListHeaders only", hs.counts())
	}
}

func (s *vanishingStore) ListParts(ctx context.Context, mailboxID store.MailboxRef, uids []uint32, fn func(store.MessageMeta, *message.Part) error) error {
	return s.Store.ListParts(ctx, mailboxID, uids, func(m store.MessageMeta, p *message.Part) error {
		if m.ID == s.goneID {
			return nil
		}
		return fn(m, p)
	})
}

func (s *vanishingStore) ListHeaders(ctx context.Context, mailboxID store.MailboxRef, uids []uint32, fn func(store.MessageMeta, []byte) error) error {
	return s.Store.ListHeaders(ctx, mailboxID, uids, func(m store.MessageMeta, hdr []byte) error {
		if m.ID == s.goneID {
			return nil
		}
		return fn(m, hdr)
	})
}

func (s *vanishingStore) ReadHeaders(ctx context.Context, mailboxID store.MailboxRef, uids []uint32, fn func(int64, uint32, []byte) error) error {
	return s.Store.ReadHeaders(ctx, mailboxID, uids, func(id int64, uid uint32, hdr []byte) error {
		if id == s.goneID {
			return nil
		}
		return fn(id, uid, hdr)
	})
}

// TestFetchHeadersConcurrentlyExpunged: as TestFetchConcurrentlyExpunged,
// for a FETCH of headers.
func TestFetchHeadersConcurrentlyExpunged(t *testing.T) {
	vs := &vanishingStore{}
	ts := startTestServer(t, func(c *Config) { vs.Store = c.Store; c.Store = vs })
	for range 3 {
		ts.deliver("", "Subject: m\n\nbody\n")
	}
	var ids []int64
	ts.st.ListMessages(context.Background(), mustInbox(t, ts), nil, func(m store.MessageMeta) error {
		ids = append(ids, m.ID)
		return nil
	})
	vs.goneID = ids[1]
	tc := ts.login()
	tc.transactf("ok", "select INBOX")
	for _, items := range []string{"UID ENVELOPE", "UID BODY.PEEK[HEADER]"} {
		lines := tc.transactf("no", "fetch 1:3 (%s)", items)
		hasLine(t, lines, "* 1 FETCH (UID 1 ")
		hasLine(t, lines, "* 3 FETCH (UID 3 ")
		noLine(t, lines, "* 2 FETCH")
		if tc.taggedCode() != "EXPUNGEISSUED" {
			t.Errorf("FETCH (%s): tagged %q, want NO [EXPUNGEISSUED]", items, tc.lastTagged)
		}
	}
}

// FuzzHeaderSections: what FETCH serves from the stored header alone
// (raw[:BodyStart], ListHeaders) is what it serves from the whole
// message: the same header sections and ENVELOPE, and the header ends
// where message.Parse, which the store does not call, says it does.
func FuzzHeaderSections(f *testing.F) {
	for _, raw := range headerTestRaws {
		f.Add([]byte(raw))
	}
	f.Add([]byte("Subject: x\r\r\nbody"))
	f.Add([]byte("Subject: x\n \n\nbody"))
	f.Add([]byte("From: a\r\n\r"))
	f.Add([]byte(":\n\n"))
	sections := []imapmsg.Section{
		{Specifier: imapmsg.SpecHeader},
		{Specifier: imapmsg.SpecHeaderFields, Fields: []string{"SUBJECT", "from", "X-Missing"}},
		{Specifier: imapmsg.SpecHeaderFieldsNot, Fields: []string{"subject"}},
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		top := message.ParseTop(raw)
		if full := message.Parse(raw); full.BodyStart != top.BodyStart {
			t.Fatalf("Parse body start %d, ParseTop %d", full.BodyStart, top.BodyStart)
		}
		hdr := raw[:top.BodyStart]
		htop := message.ParseTop(hdr)
		if htop.BodyStart != int64(len(hdr)) {
			t.Fatalf("ParseTop of the header: body start %d, want %d", htop.BodyStart, len(hdr))
		}
		if a, b := imapmsg.AppendEnvelope(nil, top.Envelope), imapmsg.AppendEnvelope(nil, htop.Envelope); string(a) != string(b) {
			t.Fatalf("ENVELOPE from the header %s, from the message %s", b, a)
		}
		for _, sec := range sections {
			a, err1 := imapmsg.SectionBytes(raw, top, sec)
			b, err2 := imapmsg.SectionBytes(hdr, htop, sec)
			if err1 != nil || err2 != nil || string(a) != string(b) {
				t.Fatalf("%s: from the header %q (%v), from the message %q (%v)", sec.Specifier, b, err2, a, err1)
			}
		}
	})
}

// TestFetchHeaderFieldsAllocs: FETCH of header fields cuts them from each
// message's header without parsing it (no envelope, no field list with
// unfolded values) and names the item once per command: 50 more messages
// add fewer than 40 allocations each, store read and client included
// (they added about 90 when each header was parsed).
func TestFetchHeaderFieldsAllocs(t *testing.T) {
	ts := startTestServer(t)
	add := func(n int) {
		ts.appendToInbox(n, func(i int) []byte {
			return []byte(fmt.Sprintf("From: Alice <a@example.org>\r\nTo: b@example.org, \"C\" <c@example.org>\r\nSubject: message %d\r\n folded\r\nDate: Thu, 26 Nov 2026 09:00:00 +0000\r\nMessage-ID: <%d@example.org>\r\nReceived: from x by y\r\nMIME-Version: 1.0\r\n\r\nbody\r\n", i, i))
		})
		// The background indexer's allocations would count too: on a
		// loaded machine it indexes the new messages during the runs.
		storetest.WaitTextIndexed(t, ts.st)
	}
	tc := ts.login()
	const fetch = "FETCH 1:* (UID BODY.PEEK[HEADER.FIELDS (FROM TO SUBJECT DATE MESSAGE-ID)])"
	allocs := func(want int) float64 {
		tc.transactf("ok", "SELECT INBOX")
		lines := tc.transactf("ok", fetch)
		if len(lines) != want {
			t.Fatalf("%d responses, want %d", len(lines), want)
		}
		fields := "From: Alice <a@example.org>\r\nTo: b@example.org, \"C\" <c@example.org>\r\nSubject: message 0\r\n folded\r\nDate: Thu, 26 Nov 2026 09:00:00 +0000\r\nMessage-ID: <0@example.org>\r\n\r\n"
		w := fmt.Sprintf("* 1 FETCH (UID 1 BODY[HEADER.FIELDS (FROM TO SUBJECT DATE MESSAGE-ID)] {%d}\r\n%s)", len(fields), fields)
		if lines[0] != w {
			t.Fatalf("first response %q, want %q", lines[0], w)
		}
		return testing.AllocsPerRun(20, func() { tc.transactf("ok", fetch) })
	}
	add(10)
	small := allocs(10)
	add(50)
	large := allocs(60)
	t.Logf("%.0f allocations for 10 messages, %.0f for 60", small, large)
	if per := (large - small) / 50; per >= 40 {
		t.Errorf("FETCH of header fields: %.0f allocations for 10 messages, %.0f for 60: %.0f per message", small, large, per)
	}
}
