// Package sqlite implements store.Store on a single SQLite file with the
// pure-Go driver modernc.org/sqlite (no cgo). The store's logic is
// store/internal/sqlcore, shared with store/postgres; this package holds the
// database, the writer, the read pool, the migrations and the SQLite
// dialect (core.go).
//
// Durability and concurrency: the database runs in WAL mode with
// synchronous=FULL, so a commit is fsynced before a method returns. All
// writes go through one writer goroutine that batches the writes waiting at
// the same moment into one transaction (group commit: one fsync for many
// deliveries); each write runs inside its own SAVEPOINT so a failing write
// does not affect the others in its batch. Reads use a separate pool of
// read-only connections; WAL readers never block the writer. Other
// processes (the CLI) may write the same file while a server runs; SQLite's
// locking and busy_timeout serialize them, and no state is cached in memory
// so their changes are seen at once (but they are not published on this
// process's change feed).
//
// Schema (see migrations.go for the authoritative DDL):
//
//	settings(key, value)                 counters, e.g. the next UIDVALIDITY
//	accounts(id, email, domain, password_hash, created)
//	mailboxes(id, account_id, name, special_use, uidvalidity, uidnext, highestmodseq)
//	subscriptions(account_id, name)
//	blobs(id, raw, part, size)           raw bytes, shared by copies (part: an old JSON tree, '' since migration 15)
//	headers(blob_id, header)             each blob's top-level header, apart from raw
//	trees(blob_id, tree)                 each blob's MIME structure (message.Marshal), apart from raw
//	messages(id, mailbox_id, uid, modseq, sysflags, keywords, internal_date, tz_offset, size, wire_size, blob_id)
//	expunged(mailbox_id, uid, modseq)    tombstones for Changes / QRESYNC VANISHED
//
// System flags are a bitmask (sysflags); keywords are a space-separated,
// sorted list. A trigger deletes a blob when its last message goes.
// PRAGMA user_version holds the schema version: the number of entries of
// migrations applied, each in the transaction that applies it.
package sqlite
