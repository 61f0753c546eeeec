package imapserver

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

// TestFullDatabase: at a full database (PRAGMA max_page_count, as a full
// disk), APPEND gets NO [OVERQUOTA] rather than [SERVERBUG], and the user
// can still free space: STORE \Deleted, EXPUNGE and DELETE work, after
// which APPEND works again. Issue 11, item 16.
func TestFullDatabase(t *testing.T) {
	ts := startTestServer(t)
	tc := ts.login()
	tc.expect(t, "ok", "MAILBOXID", "CREATE Big")
	ctx := context.Background()
	pages, err := ts.st.PageCount(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := ts.st.SetMaxPageCount(ctx, pages+60); err != nil {
		t.Fatal(err)
	}
	msg := "Subject: big\r\n\r\n" + strings.Repeat("0123456789abcdef\r\n", 500)
	n := 0
	for ; ; n++ {
		if n > 200 {
			t.Fatal("the database never got full")
		}
		tc.tag++
		tag := fmt.Sprintf("f%d", tc.tag)
		tc.writeLine("%s APPEND Big {%d+}\r\n%s", tag, len(msg), msg)
		r := tc.readResponse()
		s := parseStatus(t, r)
		if s.status == "OK" {
			continue
		}
		if s.status != "NO" || s.code != codeOverQuota {
			t.Fatalf("APPEND at a full database: %q, want NO [OVERQUOTA]", r)
		}
		break
	}
	if n == 0 {
		t.Fatal("no APPEND fitted")
	}
	tc.expect(t, "ok", codeReadWrite, "SELECT Big")
	tc.expect(t, "ok", "", `STORE 1:* +FLAGS.SILENT (\Deleted)`)
	lines := tc.expect(t, "ok", "", "EXPUNGE")
	if len(lines) != n {
		t.Fatalf("EXPUNGE at a full database: %d responses, want %d", len(lines), n)
	}
	tc.expect(t, "ok", "", "CLOSE")
	tc.expect(t, "ok", "", "DELETE Big")
	tc.expect(t, "ok", "APPENDUID", "APPEND INBOX {%d+}\r\n%s", len(msg), msg)
}
