package postgres

import (
	"context"
	"reflect"
	"testing"

	"github.com/mailroom/mailroom/message"
	"github.com/mailroom/mailroom/store"
)

// TestTreesBuiltAtFirstRead: a blob without a part tree (stored before
// migration 13) or with one that cannot be used gets the parse of its
// bytes from ListParts and MessagePart, and the tree is saved.
func TestTreesBuiltAtFirstRead(t *testing.T) {
	t.Parallel()
	s := openTest(t)
	ctx := context.Background()
	acct, err := s.CreateAccount(ctx, "a@example.org", "hash")
	if err != nil {
		t.Fatal(err)
	}
	inbox, err := s.MailboxByName(ctx, acct.ID, store.Inbox)
	if err != nil {
		t.Fatal(err)
	}
	raws := []string{
		"Subject: a\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\none\r\n--b\r\nContent-Type: message/rfc822\r\n\r\nSubject: inner\r\n\r\ntwo\r\n--b--\r\n",
		"Subject: b\n\nbare LF\n",
		"",
	}
	var msgs []store.NewMessage
	for _, raw := range raws {
		msgs = append(msgs, store.NewMessage{Raw: []byte(raw), Part: message.Parse([]byte(raw))})
	}
	if _, _, err := s.Append(ctx, inbox.Ref(), msgs); err != nil {
		t.Fatal(err)
	}
	countTrees := func() int {
		var n int
		if err := s.pool.QueryRow(ctx, "SELECT count(*) FROM blobs WHERE tree IS NOT NULL").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := countTrees(); n != len(raws) {
		t.Fatalf("%d trees after Append, want %d", n, len(raws))
	}
	check := func(what string) {
		t.Helper()
		var ids []int64
		err := s.ListParts(ctx, inbox.Ref(), nil, func(m store.MessageMeta, p *message.Part) error {
			if want := message.Parse([]byte(raws[m.UID-1])); !reflect.DeepEqual(p, want) {
				t.Errorf("%s: ListParts of UID %d: %+v, want %+v", what, m.UID, p, want)
			}
			ids = append(ids, m.ID)
			return nil
		})
		if err != nil || len(ids) != len(raws) {
			t.Fatalf("%s: ListParts gave %d messages, %v", what, len(ids), err)
		}
		if n := countTrees(); n != len(raws) {
			t.Errorf("%s: %d trees saved, want %d", what, n, len(raws))
		}
		if _, err := s.pool.Exec(ctx, "UPDATE blobs SET tree = NULL WHERE id = (SELECT blob_id FROM messages WHERE id = $1)", ids[0]); err != nil {
			t.Fatal(err)
		}
		p, err := s.MessagePart(ctx, inbox.Ref(), ids[0])
		if want := message.Parse([]byte(raws[0])); err != nil || !reflect.DeepEqual(p, want) {
			t.Errorf("%s: MessagePart: %+v, %v; want %+v", what, p, err, want)
		}
		if n := countTrees(); n != len(raws) {
			t.Errorf("%s: %d trees after MessagePart, want %d", what, n, len(raws))
		}
	}
	if _, err := s.pool.Exec(ctx, "UPDATE blobs SET tree = NULL"); err != nil {
		t.Fatal(err)
	}
	check("no trees")
	if _, err := s.pool.Exec(ctx, "UPDATE blobs SET tree = '\\x02'::bytea"); err != nil {
		t.Fatal(err)
	}
	check("unreadable trees")
	var good int
	if err := s.pool.QueryRow(ctx, "SELECT count(*) FROM blobs WHERE get_byte(tree, 0) = 1").Scan(&good); err != nil || good != len(raws) {
		t.Errorf("%d trees rewritten in the current version, %v; want %d", good, err, len(raws))
	}
}
