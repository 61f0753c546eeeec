package imapserver

import (
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// A delivery during IDLE is pushed. There is no poll to fall back on (the
// store's own commits wake the feed), so a missed wake-up hangs until the
// read deadline, a hang guard sized for -race on a loaded CI machine.
func TestIdleSeesDelivery(t *testing.T) {
	idleSeesDelivery(t, startTestServer(t))
}

// chanOnlyStore hides the store's WatchFunc, so the server falls back to
// the channel form of the change feed.
type chanOnlyStore struct{ Store }

func TestIdleSeesDeliveryWithChannelFeed(t *testing.T) {
	idleSeesDelivery(t, startTestServer(t, func(c *Config) { c.Store = chanOnlyStore{c.Store} }))
}

func idleSeesDelivery(t *testing.T, ts *testServer) {
	tc := ts.login()
	tc.transactf("ok", "select inbox")
	tc.writeLine("i1 idle")
	if r := tc.readResponse(); r != "+ idling" {
		t.Fatalf("idle: %q", r)
	}
	ts.deliver("", simpleMsg)
	tc.nc.SetReadDeadline(time.Now().Add(30 * time.Second))
	line, err := tc.br.ReadString('\n')
	if err != nil || line != "* 1 EXISTS\r\n" {
		t.Fatalf("after delivery: %q %v", line, err)
	}
	tc.writeLine("DONE")
	tc.readUntilTagged("i1", "ok")
	tc.transactf("ok", "noop")
}

// The DONE line may arrive in pieces around a pushed change; anything but
// DONE is a BAD that leaves the connection usable; an idler is logged out
// when the autologout timer runs out.
func TestIdleDoneInPieces(t *testing.T) {
	t.Parallel() // it waits out the autologout timer
	// The default autologout timer for all but the last IDLE: a short one
	// runs from the start of each IDLE (and between commands), and ended
	// an IDLE whose delivery and push a loaded machine held up.
	ts := startTestServer(t)
	tc := ts.login()
	tc.transactf("ok", "select inbox")
	tc.writeLine("i1 idle")
	if r := tc.readResponse(); r != "+ idling" {
		t.Fatalf("idle: %q", r)
	}
	tc.nc.Write([]byte("Do"))
	ts.deliver("", simpleMsg)
	if r := tc.readResponse(); r != "* 1 EXISTS" {
		t.Fatalf("after delivery: %q", r)
	}
	tc.nc.Write([]byte("nE\r\n"))
	tc.readUntilTagged("i1", "ok")

	// DONE with the next command right behind it, and IDLE with DONE
	// right behind it.
	tc.writeLine("p1 idle")
	tc.readResponse()
	tc.nc.Write([]byte("DONE\r\np2 noop\r\np3 idle\r\ndone\r\n"))
	tc.readUntilTagged("p1", "ok")
	tc.readUntilTagged("p2", "ok")
	if r := tc.readResponse(); r != "+ idling" {
		t.Fatalf("pipelined idle: %q", r)
	}
	tc.readUntilTagged("p3", "ok")

	tc.writeLine("i2 idle")
	tc.readResponse()
	tc.writeLine("DONX")
	tc.readUntilTagged("i2", "bad")
	tc.transactf("ok", "noop")

	// The autologout timer, on a session of its own (a session keeps the
	// limits it started with): long enough for the login and the IDLE
	// command to arrive on a loaded machine, as the timer runs between
	// commands too.
	ts.srv.SetLimits(Limits{IdleTimeout: 10 * time.Second})
	tc = ts.login()
	tc.transactf("ok", "select inbox")
	tc.writeLine("i3 idle")
	if r := tc.readResponse(); r != "+ idling" {
		t.Fatalf("idle: %q", r)
	}
	if r := tc.readResponse(); !strings.HasPrefix(r, "* BYE autologout") {
		t.Fatalf("idle timeout: %q", r)
	}
}

func TestTwoSessions(t *testing.T) {
	ts := startTestServer(t)
	for range 3 {
		ts.deliver("", simpleMsg)
	}
	a := ts.login()
	b := ts.login()
	a.transactf("ok", "select inbox")
	b.transactf("ok", "select inbox")

	// Flags changed in A show up in B as FETCH.
	a.transactf("ok", `store 2 +flags (\Flagged)`)
	lines := b.transactf("ok", "noop")
	hasLine(t, lines, `* 2 FETCH (UID 2 FLAGS (\Flagged))`)

	// An expunge in A is not reported to B during FETCH, but at NOOP.
	a.transactf("ok", `store 1 +flags.silent (\Deleted)`)
	lines = a.transactf("ok", "expunge")
	hasLine(t, lines, "* 1 EXPUNGE")
	lines = b.transactf("ok", "fetch 1:3 uid")
	noLine(t, lines, "EXPUNGE")
	// Message 1 is gone from the store: nothing to return for it.
	if len(lines) != 2 {
		t.Fatalf("fetch during pending expunge: %q", lines)
	}
	lines = b.transactf("ok", "store 2 +flags (\\Seen)")
	noLine(t, lines, "EXPUNGE")
	lines = b.transactf("ok", "search all")
	noLine(t, lines, "EXPUNGE")
	hasLine(t, lines, "* SEARCH 2 3")
	lines = b.transactf("ok", "noop")
	hasLine(t, lines, "* 1 EXPUNGE")
	lines = b.transactf("ok", "fetch 1:* uid")
	hasLine(t, lines, "* 1 FETCH (UID 2)")
	hasLine(t, lines, "* 2 FETCH (UID 3)")

	// A new message appended by A shows up in B.
	a.transactf("ok", "append inbox {%d+}\r\n%s", len(simpleMsg), simpleMsg)
	lines = b.transactf("ok", "uid fetch 1:* uid")
	hasLine(t, lines, "* 3 EXISTS")
	lines = b.transactf("ok", "fetch 3 uid")
	hasLine(t, lines, "* 3 FETCH (UID 4)")
}

func TestCondstore(t *testing.T) {
	ts := startTestServer(t)
	for range 3 {
		ts.deliver("", simpleMsg)
	}
	a := ts.login()
	lines := a.transactf("ok", "select inbox (condstore)")
	l := hasLine(t, lines, "* OK [HIGHESTMODSEQ ")
	ms := l[len("* OK [HIGHESTMODSEQ "):strings.Index(l, "]")]
	lines = a.transactf("ok", `store 1 +flags (\Answered)`)
	l = hasLine(t, lines, `* 1 FETCH (FLAGS (\Answered \Recent) MODSEQ (`)
	lines = a.transactf("ok", "fetch 1:* (flags) (changedsince %s)", ms)
	if len(lines) != 1 || !strings.HasPrefix(lines[0], "* 1 FETCH (FLAGS (\\Answered \\Recent) MODSEQ (") {
		t.Fatalf("changedsince: %q", lines)
	}
	// UNCHANGEDSINCE older than a message's modseq fails for that message.
	a.transactf("ok", `store 1,2 (unchangedsince %s) +flags (\Flagged)`, ms)
	if c := a.tagged().codeArgs(); a.taggedCode() != "MODIFIED" || len(c) != 1 || c[0] != "1" {
		t.Fatalf("unchangedsince: %q", a.lastTagged)
	}
	lines = a.transactf("ok", "search modseq %d", atoi(ms)+1)
	hasLine(t, lines, "* SEARCH 1 2 (MODSEQ ")
	lines = a.transactf("ok", "status inbox (highestmodseq messages)")
	hasLine(t, lines, "HIGHESTMODSEQ ")
}

func TestQresync(t *testing.T) {
	ts := startTestServer(t)
	for range 4 {
		ts.deliver("", simpleMsg)
	}
	a := ts.login()
	a.transactf("ok", "enable qresync")
	lines := a.transactf("ok", "select inbox")
	l := hasLine(t, lines, "* OK [UIDVALIDITY ")
	uv := l[len("* OK [UIDVALIDITY "):strings.Index(l, "]")]
	l = hasLine(t, lines, "* OK [HIGHESTMODSEQ ")
	ms := l[len("* OK [HIGHESTMODSEQ "):strings.Index(l, "]")]
	a.transactf("ok", "logout")

	b := ts.login()
	b.transactf("ok", "select inbox")
	b.transactf("ok", `store 2,3 +flags.silent (\Deleted)`)
	b.transactf("ok", "expunge")
	b.transactf("ok", `uid store 4 +flags.silent (\Seen)`)

	c := ts.login()
	c.transactf("ok", "enable qresync")
	lines = c.transactf("ok", "select inbox (qresync (%s %s 1:4))", uv, ms)
	hasLine(t, lines, "* VANISHED (EARLIER) 2:3")
	hasLine(t, lines, `* 2 FETCH (UID 4 FLAGS (\Seen) MODSEQ (`)
	hasLine(t, lines, "* 2 EXISTS")
	// UID FETCH with VANISHED.
	lines = c.transactf("ok", "uid fetch 1:* (flags) (changedsince %s vanished)", ms)
	hasLine(t, lines, "* VANISHED (EARLIER) 2:3")
	// Expunges by others are VANISHED, not EXPUNGE.
	b.transactf("ok", "uid expunge 1:*") // nothing \Deleted: no-op
	b.transactf("ok", `store 1 +flags.silent (\Deleted)`)
	b.transactf("ok", "expunge")
	lines = c.transactf("ok", "noop")
	hasLine(t, lines, "* VANISHED 1")
	// Switching mailboxes reports CLOSED.
	lines = c.transactf("ok", "select Trash")
	hasLine(t, lines, "* OK [CLOSED]")
	c.transactf("bad", "select inbox (qresync (1))")
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

// TestExpungeManyByOther checks the sequence numbers of several EXPUNGE
// responses for messages another session removed: highest first, each
// valid at the moment it is sent (RFC 9051 §7.5.1).
func TestExpungeManyByOther(t *testing.T) {
	ts := startTestServer(t)
	for range 10 {
		ts.deliver("", simpleMsg)
	}
	a := ts.login()
	b := ts.login()
	a.transactf("ok", "select inbox")
	b.transactf("ok", "select inbox")
	a.transactf("ok", `store 2,3,5,9 +flags.silent (\Deleted)`)
	a.transactf("ok", "expunge")
	lines := b.transactf("ok", "noop")
	var got []string
	for _, l := range lines {
		if strings.HasSuffix(l, " EXPUNGE") {
			got = append(got, l)
		}
	}
	want := []string{"* 9 EXPUNGE", "* 5 EXPUNGE", "* 3 EXPUNGE", "* 2 EXPUNGE"}
	if !slices.Equal(got, want) {
		t.Fatalf("EXPUNGE responses %q, want %q", got, want)
	}
	lines = b.transactf("ok", "uid search all")
	hasLine(t, lines, "* SEARCH 1 4 6 7 8 10")
}
