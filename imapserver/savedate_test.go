package imapserver

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/mailroom/mailroom/imapserver/imapmsg"
)

// TestSaveDate: FETCH SAVEDATE is when the message was put into this
// mailbox, not its internal date; COPY and MOVE set it anew; SEARCH
// SAVEDBEFORE/SAVEDON/SAVEDSINCE compare it, SAVEDATESUPPORTED matches
// all (RFC 8514).
func TestSaveDate(t *testing.T) {
	t.Parallel()
	ts := startTestServer(t)
	tc := ts.login()
	if caps := atomsUpper(parseResp(t, tc.transactf("ok", "capability")[0]).items); !slices.Contains(caps, "SAVEDATE") {
		t.Fatalf("SAVEDATE not advertised: %v", caps)
	}
	msg := "Subject: old\r\n\r\nfrom 2001\r\n"
	start := time.Now().Add(-time.Second)
	tc.transactf("ok", "append inbox \"01-Feb-2001 10:00:00 +0000\" {%d+}\r\n%s", len(msg), msg)
	tc.transactf("ok", "append inbox \"01-Feb-2001 10:00:00 +0000\" {%d+}\r\n%s", len(msg), msg)
	tc.transactf("ok", "select inbox")
	saveDate := func(cmd string) time.Time {
		t.Helper()
		f := find(parseResps(t, tc.transactf("ok", "%s", cmd)), "FETCH")
		if len(f) != 1 {
			t.Fatalf("%s: %v", cmd, f)
		}
		s, _ := f[0].fetchAttrs()["SAVEDATE"].(string)
		d, err := imapmsg.ParseDateTime(s)
		if err != nil {
			t.Fatalf("%s: SAVEDATE %q: %v", cmd, s, err)
		}
		if id, _ := f[0].fetchAttrs()["INTERNALDATE"].(string); id != "" && id != "01-Feb-2001 10:00:00 +0000" {
			t.Fatalf("INTERNALDATE %q", id)
		}
		return d
	}
	appended := saveDate("fetch 1 (savedate internaldate)")
	if appended.Before(start) || appended.After(time.Now().Add(time.Second)) {
		t.Fatalf("SAVEDATE of APPEND %v, want about now, not the internal date", appended)
	}
	today := time.Now().In(time.Local).Format("2-Jan-2006")
	search := func(crit string) string {
		t.Helper()
		s := find(parseResps(t, tc.transactf("ok", "search %s", crit)), "SEARCH")
		if len(s) != 1 {
			t.Fatalf("SEARCH %s: %v", crit, s)
		}
		return fmt.Sprint(s[0].items)
	}
	for _, tt := range []struct{ crit, want string }{
		{"savedon " + today, "[1 2]"},
		{"savedsince " + today, "[1 2]"},
		{"savedbefore " + today, "[]"},
		{"savedbefore 1-Jan-2002", "[]"},
		{"before 1-Jan-2002", "[1 2]"}, // the internal date is another thing
		{"savedatesupported", "[1 2]"},
		{"not savedatesupported", "[]"},
		{"or savedbefore 1-Jan-2002 uid 2", "[2]"},
	} {
		if got := search(tt.crit); got != tt.want {
			t.Errorf("SEARCH %s: %s, want %s", tt.crit, got, tt.want)
		}
	}
	// COPY and MOVE put the message into Archive now: a new save date
	// there, the source's unchanged.
	time.Sleep(1100 * time.Millisecond)
	tc.transactf("ok", "copy 1 Archive")
	tc.transactf("ok", "move 2 Archive")
	if again := saveDate("fetch 1 savedate"); !again.Equal(appended) {
		t.Fatalf("source SAVEDATE changed by COPY: %v, was %v", again, appended)
	}
	tc.transactf("ok", "select Archive")
	for _, n := range []int{1, 2} {
		if d := saveDate(fmt.Sprintf("fetch %d savedate", n)); !d.After(appended) {
			t.Fatalf("Archive %d SAVEDATE %v, want after %v", n, d, appended)
		}
	}
}
