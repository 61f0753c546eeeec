// Package postgres implements store.Store on PostgreSQL with
// github.com/jackc/pgx/v5, so that several mailroom nodes can share one
// store. The store's logic is store/internal/sqlcore, shared with
// store/sqlite; this package holds the pool, the retried write
// transactions, the migrations, LISTEN/NOTIFY and the PostgreSQL dialect
// (core.go).
//
// Durability: every write runs in one transaction and returns after COMMIT.
// With PostgreSQL's default synchronous_commit=on a commit is flushed to the
// write-ahead log (fsynced) before the server acknowledges it. Do not turn
// synchronous_commit off for mailroom's database: a crash could then lose
// mail already acknowledged to an SMTP client. The store turns it off
// itself only for batches of flag changes (core.go, coreWriteFlags),
// unless [store] sync_flag_changes.
//
// Concurrency across nodes: per-mailbox counters are taken with row locks.
// A write that allocates UIDs and modseqs runs
//
//	UPDATE mailboxes SET uidnext = uidnext + n, highestmodseq = highestmodseq + n WHERE id = $1 RETURNING ...
//
// inside its transaction, so the mailbox row stays locked until COMMIT and
// no two transactions on any node can get the same UID or modseq. Writes
// that touch several mailboxes lock them in id order; a transaction that
// still hits a deadlock or serialization failure is retried. Changes to an
// account's mailbox list (create, delete, rename, subscriptions) lock the
// account row. UIDVALIDITY comes from the sequence uidvalidity_seq, seeded
// from the clock when the schema is created, so values are unique for the
// life of the database.
//
// Change feed across nodes: a committing transaction calls
// pg_notify('mailroom_changes', '<account>:<mailbox>') (delivered only if
// it commits). Every Store LISTENs on one dedicated connection and fans the
// notifications out to its local store.Feed; its own writes are published
// locally at once after COMMIT (notifications from its own connections are
// recognised by backend PID and dropped). When the listening connection is
// lost, it reconnects and wakes every watcher with a MailboxID 0 change, as
// notifications may have been missed meanwhile. Stores in a schema other
// than public (search_path) use the channel "mailroom_changes.<schema>", so
// installations sharing one database do not wake each other.
// LISTEN needs a session of its own: connect directly or through a
// session-mode pooler, not PgBouncer's transaction mode.
//
// Recipient lookups (dircache.go): Recipients answers a delivery's
// IsLocalDomain, AccountByEmail, AliasTargets and ActiveSieveScript from a
// per-node cache; writes that change them send "d:<kind>:<name>" on the
// same channel, and the cache is empty and off while LISTEN is down.
//
// Schema (see migrations.go): the same tables as store/sqlite (accounts,
// mailboxes, subscriptions, blobs, messages, expunged, queue, queue_rcpts)
// plus schema_version. Blobs (bytea) are shared by the copies of a message;
// a trigger deletes a blob with its last message. Migrations run at Open
// under an advisory lock, so nodes starting together do not race.
package postgres
