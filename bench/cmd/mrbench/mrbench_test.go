package main

import (
	"bufio"
	"bytes"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/mailroom/mailroom/message"
)

func TestLiteralLen(t *testing.T) {
	for in, want := range map[string]int64{
		"* 1 FETCH (BODY[] {12}": 12, "* 1 FETCH (BODY[] {7+}": 7,
		"* OK done": -1, "{x}": -1, "}": -1,
	} {
		n, ok := literalLen(in)
		if (want >= 0) != ok || (ok && n != want) {
			t.Errorf("literalLen(%q) = %d, %v; want %d", in, n, ok, want)
		}
	}
}

// readAll parses responses the way imapConn does, from a byte stream.
func readAll(in []byte) (lines []string) {
	ic := &imapConn{r: bufio.NewReader(bytes.NewReader(in))}
	for {
		l, err := ic.readLine()
		if err != nil {
			return lines
		}
		lines = append(lines, l)
	}
}

func TestReadLineLiteral(t *testing.T) {
	got := readAll([]byte("* 1 FETCH (BODY[] {5}\r\na\r\nbc)\r\n* 2 EXISTS\r\n"))
	if len(got) != 2 || got[0] != "* 1 FETCH (BODY[] {5}a\r\nbc)" || exists(got) != 2 {
		t.Fatalf("got %q", got)
	}
}

func FuzzReadLine(f *testing.F) {
	f.Add([]byte("* 1 FETCH (BODY[] {5}\r\na\r\nbc)\r\n"))
	f.Add([]byte("* 3 EXISTS\r\n* {99999999999}\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) { readAll(b) })
}

func TestMessagesAreRealistic(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	multipart := 0
	for i := 0; i < 200; i++ {
		size := mixSize(rng)
		if size < 2<<10 || size > 200<<10 {
			t.Fatalf("size %d outside 2 KB–200 KB", size)
		}
		raw := makeMessage(rng, i, size, "a@b.test")
		if d := len(raw) - size; d < -2000 || d > 2000 {
			t.Errorf("message %d: %d bytes, want about %d", i, len(raw), size)
		}
		p := message.Parse(raw)
		if strings.HasPrefix(strings.ToLower(p.MediaType), "multipart") {
			multipart++
			if len(p.Parts) != 2 {
				t.Errorf("message %d: %d parts, want text + attachment", i, len(p.Parts))
			}
		}
	}
	if multipart < 20 || multipart > 100 {
		t.Errorf("%d of 200 multipart", multipart)
	}
}

func TestMedianPercentile(t *testing.T) {
	if m, _ := median([]float64{3, 1, 2}); m != 2 {
		t.Errorf("median = %v", m)
	}
	if m, _ := median([]float64{4, 1, 2, 3}); m != 2.5 {
		t.Errorf("median = %v", m)
	}
	d := []time.Duration{5 * time.Millisecond, time.Millisecond, 3 * time.Millisecond}
	if p := percentile(d, 50); p != 3 {
		t.Errorf("p50 = %v", p)
	}
	if p := percentile(d, 100); p != 5 {
		t.Errorf("p100 = %v", p)
	}
}

// A SELECT may report a message that another session expunged before the
// command ended (EXISTS, then EXPUNGE): the client's count follows both,
// or it would later ask for a sequence number the server no longer has.
func TestMessageCountFollowsExpunge(t *testing.T) {
	sel := []string{"* FLAGS (\\Seen)", "* 41 EXISTS", "* 0 RECENT", "* OK [UIDNEXT 9] x", "* 41 EXPUNGE"}
	if got := exists(sel); got != 40 {
		t.Fatalf("after SELECT: %d, want 40", got)
	}
	if got := messageCount(40, []string{"* 3 FETCH (FLAGS ())", "* 41 EXISTS", "* 2 EXPUNGE", "* 5 EXPUNGE"}); got != 39 {
		t.Fatalf("after NOOP: %d, want 39", got)
	}
}
