package main

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/mailroom/mailroom/message"
	"github.com/mailroom/mailroom/store"
	"github.com/mailroom/mailroom/store/sqlite"
)

// TestReindexCommand: reindex --user indexes that account's messages
// stored before the index, reindex the rest, and a second run nothing;
// afterwards SEARCH needs to read none of them.
func TestReindexCommand(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	data := filepath.Join(t.TempDir(), "data")
	if err := os.Mkdir(data, 0o700); err != nil {
		t.Fatal(err)
	}
	dbPath := filepath.Join(data, "mailroom.db")
	st, err := sqlite.Open(ctx, dbPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{"a@example.org": 3, "b@example.org": 5}
	inboxes := map[string]store.MailboxRef{}
	for email, n := range counts {
		a, err := st.CreateAccount(ctx, email, "hash")
		if err != nil {
			t.Fatal(err)
		}
		for i := range n {
			raw := []byte(fmt.Sprintf("Subject: m%d\r\n\r\nbody of message %d\r\n", i, i))
			if _, err := st.Deliver(ctx, []store.Target{{AccountID: a.ID}}, store.NewMessage{Raw: raw, Part: message.Parse(raw)}); err != nil {
				t.Fatal(err)
			}
		}
		mb, err := st.MailboxByName(ctx, a.ID, store.Inbox)
		if err != nil {
			t.Fatal(err)
		}
		inboxes[email] = mb.Ref()
	}
	st.Close()
	// As the migration leaves a store: nothing indexed, nothing pending.
	db, err := sql.Open("sqlite", dbPath)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("DELETE FROM blob_text; DELETE FROM text_pending; UPDATE text_index_state SET unindexed_below = (SELECT max(id) + 1 FROM blobs)"); err != nil {
		t.Fatal(err)
	}
	db.Close()

	for _, step := range []struct {
		args []string
		want int
	}{
		{[]string{"reindex", "--user", "b@example.org", "--data", data}, 5},
		{[]string{"reindex", "--data", data}, 3},
		{[]string{"reindex", "--data", data}, 0},
	} {
		code, stdout, stderr := runInProcess(t, step.args...)
		var n int
		if _, err := fmt.Sscanf(stdout, "Indexed %d stored messages", &n); code != 0 || err != nil || n != step.want {
			t.Fatalf("%v: exit %d, %q %q; want %d indexed", step.args, code, stdout, stderr, step.want)
		}
	}
	if code, _, _ := runInProcess(t, "reindex", "--user", "nobody@example.org", "--data", data); code == 0 {
		t.Error("reindex of a missing account succeeded")
	}
	st, err = sqlite.Open(ctx, dbPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for email, ref := range inboxes {
		hits, ok, err := st.SearchText(ctx, ref, store.TextQuery{Needle: "message 2"})
		if got := hits.All(); err != nil || !ok || len(got) != 1 || got[0] != 3 {
			t.Errorf("%s: SearchText(message 2) = %+v, %v, %v; want [3]", email, hits, ok, err)
		}
	}
}
