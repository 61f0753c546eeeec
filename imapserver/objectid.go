package imapserver

import (
	"strconv"

	"github.com/mailroom/mailroom/store"
)

// OBJECTID (RFC 8474). The ids are the store's row ids, which are never
// reused (SQLite AUTOINCREMENT since migration 8, PostgreSQL sequences),
// with a letter in front so that the two kinds never look alike:
//
//   - MAILBOXID "M" + the mailbox id: kept by RENAME (the row stays), new
//     after DELETE and CREATE of the same name.
//   - EMAILID "E" + store.Store.EmailIDs: the id of the message
//     first stored, kept by COPY and MOVE (RFC 8474 §5.1).
//   - THREADID is NIL: threads are not tracked in the store, which
//     RFC 8474 §5.2 allows ("the server MUST return NIL").

func mailboxObjectID(id int64) string { return "M" + strconv.FormatInt(id, 10) }

func emailObjectID(id int64) string { return "E" + strconv.FormatInt(id, 10) }

// writeMailboxIDCode writes the untagged "OK [MAILBOXID (...)]" of SELECT
// and EXAMINE (RFC 8474 §4.2).
func (c *conn) writeMailboxIDCode(mb store.Mailbox) {
	c.untagged().Raw("OK [MAILBOXID (").Raw(mailboxObjectID(mb.ID)).Raw(")] mailbox id\r\n")
}

// objectID renders EMAILID and THREADID of a FETCH response from the
// ids loaded for the chunk (loadRowExtras); an id missing there belongs
// to a message expunged meanwhile.
func (x *rowExtras) objectID(a fetchAtt, uid uint32) (name string, data []byte, err error) {
	if a.kind == attThreadID {
		return "THREADID", []byte("NIL"), nil
	}
	id, ok := x.emailIDs[uid]
	if !ok {
		return "", nil, store.ErrNotFound
	}
	return "EMAILID", []byte("(" + emailObjectID(id) + ")"), nil
}
