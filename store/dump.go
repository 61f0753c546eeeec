package store

import "context"

// Column types of a dump row: what each value of a row holds.
const (
	ColInt     = 'i' // int64
	ColText    = 't' // string
	ColBytes   = 'b' // []byte, never nil
	ColNull    = 'n' // []byte or nil (NULL)
	ColNullInt = 'j' // int64 or nil (NULL)
)

// DumpTable is one table of a store dump: its name, and its columns with
// their types (one Col* letter each).
type DumpTable struct {
	Name    string
	Columns []string
	Types   string
}

// DumpTables are the tables of a whole-store dump (mailroom migrate), in
// the order they are dumped and loaded (a row's references come before
// it). Both backends keep them under these names; "counters" is not a
// table but the store's counters, loaded last: ("uidvalidity", the last
// UIDVALIDITY handed out) and ("id:TABLE", the last id TABLE handed out),
// so a loaded store never hands out an id or UIDVALIDITY again. The
// per-mailbox counters (messages, unseen, size) are not dumped: the
// backends keep them as rows are loaded. Not dumped either: the outbound
// submission counters (outbound_usage: per-day rate limits, a bit string
// on PostgreSQL and a blob on SQLite); they start over in the new store.
var DumpTables = []DumpTable{
	{"accounts", []string{"id", "email", "domain", "password_hash", "created"}, "ittti"},
	{"mailboxes", []string{"id", "account_id", "name", "special_use", "uidvalidity", "uidnext", "highestmodseq", "recent_uid"}, "iittiiii"},
	{"subscriptions", []string{"account_id", "name"}, "it"},
	{"blobs", []string{"id", "raw", "part", "size", "header"}, "ibtin"},
	{"messages", []string{"id", "mailbox_id", "uid", "modseq", "sysflags", "keywords", "internal_date", "tz_offset", "size", "blob_id", "wire_size", "email_id", "save_date"}, "iiiiitiiiiijj"},
	{"expunged", []string{"mailbox_id", "uid", "modseq"}, "iii"},
	{"queue", []string{"id", "sender", "created", "raw", "size", "lease_owner", "lease_until"}, "itibiti"},
	{"queue_rcpts", []string{"queue_id", "idx", "rcpt", "status", "attempts", "last_error", "next_attempt"}, "iittiti"},
	{"sieve_scripts", []string{"id", "account_id", "name", "source", "active", "updated"}, "iitbii"},
	{"sieve_state", []string{"account_id", "kind", "key", "at", "expires"}, "ittii"},
	{"domains", []string{"name", "created"}, "ti"},
	{"aliases", []string{"address", "domain", "targets", "created"}, "ttti"},
	{"greylist", []string{"key", "first_seen", "last_seen", "passes"}, "tiii"},
	{"mailbox_acl", []string{"mailbox_id", "identifier", "rights"}, "itt"},
	{"metadata", []string{"account_id", "mailbox_id", "name", "value"}, "iitb"},
	{"urlauth_keys", []string{"account_id", "mailbox_id", "key"}, "iib"},
	{"counters", []string{"name", "value"}, "ti"},
}

// DumpRow is one row of a dump: Table indexes DumpTables, Values follow
// its Columns.
type DumpRow struct {
	Table  int
	Values []any
}

// Dumper is a store that can write itself out whole (mailroom migrate).
type Dumper interface {
	// Dump calls fn with every row of every table of DumpTables, in that
	// order (rows of a table by their key), all read from one consistent
	// snapshot: writes committed meanwhile are not seen.
	Dump(ctx context.Context, fn func(DumpRow) error) error
}

// Loader is a store that can be filled from a dump (mailroom migrate).
type Loader interface {
	// Load writes the rows next returns (in DumpTables order, until it
	// returns false) into the store in one transaction: all or nothing.
	// A store that holds an account or a queued message already is
	// refused with ErrExists.
	Load(ctx context.Context, next func() (DumpRow, bool, error)) error
}
