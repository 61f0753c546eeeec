package sqlite

import (
	"context"
	"database/sql"
	"fmt"
)

// migrations is the ordered list of schema changes. migrations[i] takes the
// schema from version i to version i+1. Never edit an entry once released;
// append a new one (and a seed for the previous version in
// migrations_test.go).
var migrations = []string{
	// 1: initial schema.
	`
CREATE TABLE settings (
	key   TEXT PRIMARY KEY,
	value INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO settings(key, value) VALUES ('uidvalidity', 0);

CREATE TABLE accounts (
	id            INTEGER PRIMARY KEY,
	email         TEXT NOT NULL UNIQUE COLLATE NOCASE,
	password_hash TEXT NOT NULL,
	created       INTEGER NOT NULL -- unix nanoseconds
);

CREATE TABLE mailboxes (
	id            INTEGER PRIMARY KEY,
	account_id    INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
	name          TEXT NOT NULL,
	special_use   TEXT NOT NULL DEFAULT '',
	uidvalidity   INTEGER NOT NULL,
	uidnext       INTEGER NOT NULL,
	highestmodseq INTEGER NOT NULL,
	UNIQUE (account_id, name)
);

CREATE TABLE subscriptions (
	account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
	name       TEXT NOT NULL,
	PRIMARY KEY (account_id, name)
) WITHOUT ROWID;

CREATE TABLE blobs (
	id   INTEGER PRIMARY KEY,
	raw  BLOB NOT NULL,
	part TEXT NOT NULL, -- JSON of *message.Part
	size INTEGER NOT NULL
);

CREATE TABLE messages (
	id            INTEGER PRIMARY KEY,
	mailbox_id    INTEGER NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
	uid           INTEGER NOT NULL,
	modseq        INTEGER NOT NULL,
	sysflags      INTEGER NOT NULL DEFAULT 0, -- bitmask, see flags.go
	keywords      TEXT NOT NULL DEFAULT '',   -- space-separated, sorted
	internal_date INTEGER NOT NULL,           -- unix nanoseconds
	tz_offset     INTEGER NOT NULL DEFAULT 0, -- seconds east of UTC
	size          INTEGER NOT NULL,
	blob_id       INTEGER NOT NULL REFERENCES blobs(id),
	UNIQUE (mailbox_id, uid)
);
CREATE INDEX messages_modseq ON messages(mailbox_id, modseq);
CREATE INDEX messages_blob ON messages(blob_id);

CREATE TRIGGER messages_blob_gc AFTER DELETE ON messages
WHEN NOT EXISTS (SELECT 1 FROM messages WHERE blob_id = OLD.blob_id)
BEGIN
	DELETE FROM blobs WHERE id = OLD.blob_id;
END;

CREATE TABLE expunged (
	mailbox_id INTEGER NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
	uid        INTEGER NOT NULL,
	modseq     INTEGER NOT NULL,
	PRIMARY KEY (mailbox_id, uid)
) WITHOUT ROWID;
CREATE INDEX expunged_modseq ON expunged(mailbox_id, modseq);
`,
	// 2: accounts.domain, indexed, for IsLocalDomain (SMTP asks it for every
	// RCPT TO); backfilled from the email addresses.
	`
ALTER TABLE accounts ADD COLUMN domain TEXT NOT NULL DEFAULT '' COLLATE NOCASE;
UPDATE accounts SET domain = lower(substr(email, instr(email, '@') + 1));
CREATE INDEX accounts_domain ON accounts(domain);
`,
	// 3: the outbound queue: one row per message, one per recipient with
	// its own delivery state.
	`
CREATE TABLE queue (
	id      INTEGER PRIMARY KEY,
	sender  TEXT NOT NULL,
	created INTEGER NOT NULL, -- unix nanoseconds
	raw     BLOB NOT NULL,
	size    INTEGER NOT NULL
);
CREATE TABLE queue_rcpts (
	queue_id     INTEGER NOT NULL REFERENCES queue(id) ON DELETE CASCADE,
	idx          INTEGER NOT NULL,
	rcpt         TEXT NOT NULL COLLATE NOCASE,
	status       TEXT NOT NULL,
	attempts     INTEGER NOT NULL DEFAULT 0,
	last_error   TEXT NOT NULL DEFAULT '',
	next_attempt INTEGER NOT NULL, -- unix nanoseconds
	PRIMARY KEY (queue_id, idx),
	UNIQUE (queue_id, rcpt)
) WITHOUT ROWID;
CREATE INDEX queue_rcpts_due ON queue_rcpts(status, next_attempt);
`,
	// 4: per-mailbox counters (messages, unseen, deleted, size), so STATUS
	// and SELECT read one row instead of aggregating over the mailbox.
	// Triggers on messages keep them in the transaction of every write,
	// including cascaded deletes; backfilled from existing rows. The bit
	// values are flagset.BitSeen (1) and flagset.BitDeleted (8).
	`
ALTER TABLE mailboxes ADD COLUMN n_messages INTEGER NOT NULL DEFAULT 0;
ALTER TABLE mailboxes ADD COLUMN n_unseen   INTEGER NOT NULL DEFAULT 0;
ALTER TABLE mailboxes ADD COLUMN n_deleted  INTEGER NOT NULL DEFAULT 0;
ALTER TABLE mailboxes ADD COLUMN total_size INTEGER NOT NULL DEFAULT 0;
UPDATE mailboxes SET
	n_messages = (SELECT count(*) FROM messages WHERE mailbox_id = mailboxes.id),
	n_unseen   = (SELECT count(*) FROM messages WHERE mailbox_id = mailboxes.id AND (sysflags & 1) = 0),
	n_deleted  = (SELECT count(*) FROM messages WHERE mailbox_id = mailboxes.id AND (sysflags & 8) != 0),
	total_size = (SELECT coalesce(sum(size), 0) FROM messages WHERE mailbox_id = mailboxes.id);

CREATE TRIGGER messages_count_insert AFTER INSERT ON messages
BEGIN
	UPDATE mailboxes SET n_messages = n_messages + 1,
		n_unseen = n_unseen + ((NEW.sysflags & 1) = 0),
		n_deleted = n_deleted + ((NEW.sysflags & 8) != 0),
		total_size = total_size + NEW.size
	WHERE id = NEW.mailbox_id;
END;

CREATE TRIGGER messages_count_delete AFTER DELETE ON messages
BEGIN
	UPDATE mailboxes SET n_messages = n_messages - 1,
		n_unseen = n_unseen - ((OLD.sysflags & 1) = 0),
		n_deleted = n_deleted - ((OLD.sysflags & 8) != 0),
		total_size = total_size - OLD.size
	WHERE id = OLD.mailbox_id;
END;

CREATE TRIGGER messages_count_update AFTER UPDATE OF mailbox_id, sysflags, size ON messages
WHEN OLD.mailbox_id != NEW.mailbox_id OR (OLD.sysflags & 9) != (NEW.sysflags & 9) OR OLD.size != NEW.size
BEGIN
	UPDATE mailboxes SET n_messages = n_messages - 1,
		n_unseen = n_unseen - ((OLD.sysflags & 1) = 0),
		n_deleted = n_deleted - ((OLD.sysflags & 8) != 0),
		total_size = total_size - OLD.size
	WHERE id = OLD.mailbox_id;
	UPDATE mailboxes SET n_messages = n_messages + 1,
		n_unseen = n_unseen + ((NEW.sysflags & 1) = 0),
		n_deleted = n_deleted + ((NEW.sysflags & 8) != 0),
		total_size = total_size + NEW.size
	WHERE id = NEW.mailbox_id;
END;
`,
	// 5: messages.wire_size, the octet count with every line ending as
	// CRLF (message.CRLFSize), so POP3 STAT/LIST read no bodies. -1 is
	// "unknown". Backfilled from the blobs: size + bare LFs (LFs minus
	// CRLFs) + 2 for a last line without LF. replace() compares bytes;
	// CAST AS BLOB makes length() count bytes, NULs included.
	`
ALTER TABLE messages ADD COLUMN wire_size INTEGER NOT NULL DEFAULT -1;
UPDATE messages SET wire_size = w.n
FROM (
	SELECT id, length(r)
		+ (length(r) - length(CAST(replace(r, X'0A', X'') AS BLOB)))
		- (length(r) - length(CAST(replace(r, X'0D0A', X'') AS BLOB))) / 2
		+ CASE WHEN length(r) = 0 OR substr(r, -1) = X'0A' THEN 0 ELSE 2 END AS n
	FROM (SELECT id, CAST(raw AS BLOB) AS r FROM blobs)
) AS w
WHERE w.id = messages.blob_id;
`,
	// 6: queue leases, so several nodes can run the queue on one store:
	// ClaimQueue sets lease_owner (the runner) and lease_until (unix
	// nanoseconds); "" and 0 mean nobody holds the item.
	`
ALTER TABLE queue ADD COLUMN lease_owner TEXT NOT NULL DEFAULT '';
ALTER TABLE queue ADD COLUMN lease_until INTEGER NOT NULL DEFAULT 0;
`,
	// 7: each blob's top-level header (raw[:BodyStart], blank line
	// included) in a table of its own, so ListHeaders (IMAP FETCH of
	// headers, ENVELOPE) reads it without walking the overflow pages of
	// raw, which a column of blobs (stored after raw) would. It goes with
	// its blob by cascade. Backfilled from the part tree's body start
	// ("bs"; 0 when absent); CAST AS BLOB makes substr count bytes and
	// keep NULs; substr of an empty blob is NULL, hence the coalesce.
	`
CREATE TABLE headers (
	blob_id INTEGER PRIMARY KEY REFERENCES blobs(id) ON DELETE CASCADE,
	header  BLOB NOT NULL
);
INSERT INTO headers(blob_id, header)
	SELECT id, coalesce(substr(CAST(raw AS BLOB), 1, coalesce(json_extract(part, '$.bs'), 0)), X'') FROM blobs;
`,
	// 8: ids are never reused (issue 11: a session holding a deleted
	// mailbox's id read the mailbox that got the id next, of another
	// account). Without AUTOINCREMENT SQLite hands out max(id)+1, so
	// deleting the newest row frees its id. The tables whose ids sessions,
	// clients or logs hold (accounts, mailboxes, messages, queue) are
	// rebuilt with AUTOINCREMENT, which never goes below sqlite_sequence;
	// that is seeded from max(id) of the old rows (nothing records higher
	// ids handed out before). migrate runs this with foreign keys off (the
	// drops must not cascade) and checks them afterwards. The triggers on
	// messages name mailboxes, so they are dropped first and recreated,
	// as are the indexes that went with the old tables.
	`
DROP TRIGGER messages_blob_gc;
DROP TRIGGER messages_count_insert;
DROP TRIGGER messages_count_delete;
DROP TRIGGER messages_count_update;

CREATE TABLE accounts_new (
	id            INTEGER PRIMARY KEY AUTOINCREMENT,
	email         TEXT NOT NULL UNIQUE COLLATE NOCASE,
	password_hash TEXT NOT NULL,
	created       INTEGER NOT NULL, -- unix nanoseconds
	domain        TEXT NOT NULL DEFAULT '' COLLATE NOCASE
);
INSERT INTO accounts_new(id, email, password_hash, created, domain)
	SELECT id, email, password_hash, created, domain FROM accounts;
DROP TABLE accounts;
ALTER TABLE accounts_new RENAME TO accounts;
CREATE INDEX accounts_domain ON accounts(domain);

CREATE TABLE mailboxes_new (
	id            INTEGER PRIMARY KEY AUTOINCREMENT,
	account_id    INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
	name          TEXT NOT NULL,
	special_use   TEXT NOT NULL DEFAULT '',
	uidvalidity   INTEGER NOT NULL,
	uidnext       INTEGER NOT NULL,
	highestmodseq INTEGER NOT NULL,
	n_messages    INTEGER NOT NULL DEFAULT 0,
	n_unseen      INTEGER NOT NULL DEFAULT 0,
	n_deleted     INTEGER NOT NULL DEFAULT 0,
	total_size    INTEGER NOT NULL DEFAULT 0,
	UNIQUE (account_id, name)
);
INSERT INTO mailboxes_new(id, account_id, name, special_use, uidvalidity, uidnext, highestmodseq, n_messages, n_unseen, n_deleted, total_size)
	SELECT id, account_id, name, special_use, uidvalidity, uidnext, highestmodseq, n_messages, n_unseen, n_deleted, total_size FROM mailboxes;
DROP TABLE mailboxes;
ALTER TABLE mailboxes_new RENAME TO mailboxes;

CREATE TABLE messages_new (
	id            INTEGER PRIMARY KEY AUTOINCREMENT,
	mailbox_id    INTEGER NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
	uid           INTEGER NOT NULL,
	modseq        INTEGER NOT NULL,
	sysflags      INTEGER NOT NULL DEFAULT 0, -- bitmask, see flags.go
	keywords      TEXT NOT NULL DEFAULT '',   -- space-separated, sorted
	internal_date INTEGER NOT NULL,           -- unix nanoseconds
	tz_offset     INTEGER NOT NULL DEFAULT 0, -- seconds east of UTC
	size          INTEGER NOT NULL,
	blob_id       INTEGER NOT NULL REFERENCES blobs(id),
	wire_size     INTEGER NOT NULL DEFAULT -1,
	UNIQUE (mailbox_id, uid)
);
INSERT INTO messages_new(id, mailbox_id, uid, modseq, sysflags, keywords, internal_date, tz_offset, size, blob_id, wire_size)
	SELECT id, mailbox_id, uid, modseq, sysflags, keywords, internal_date, tz_offset, size, blob_id, wire_size FROM messages;
DROP TABLE messages;
ALTER TABLE messages_new RENAME TO messages;
CREATE INDEX messages_modseq ON messages(mailbox_id, modseq);
CREATE INDEX messages_blob ON messages(blob_id);

CREATE TABLE queue_new (
	id          INTEGER PRIMARY KEY AUTOINCREMENT,
	sender      TEXT NOT NULL,
	created     INTEGER NOT NULL, -- unix nanoseconds
	raw         BLOB NOT NULL,
	size        INTEGER NOT NULL,
	lease_owner TEXT NOT NULL DEFAULT '',
	lease_until INTEGER NOT NULL DEFAULT 0
);
INSERT INTO queue_new(id, sender, created, raw, size, lease_owner, lease_until)
	SELECT id, sender, created, raw, size, lease_owner, lease_until FROM queue;
DROP TABLE queue;
ALTER TABLE queue_new RENAME TO queue;

DELETE FROM sqlite_sequence WHERE name IN ('accounts', 'mailboxes', 'messages', 'queue');
INSERT INTO sqlite_sequence(name, seq)
	SELECT 'accounts', coalesce(max(id), 0) FROM accounts
	UNION ALL SELECT 'mailboxes', coalesce(max(id), 0) FROM mailboxes
	UNION ALL SELECT 'messages', coalesce(max(id), 0) FROM messages
	UNION ALL SELECT 'queue', coalesce(max(id), 0) FROM queue;

CREATE TRIGGER messages_blob_gc AFTER DELETE ON messages
WHEN NOT EXISTS (SELECT 1 FROM messages WHERE blob_id = OLD.blob_id)
BEGIN
	DELETE FROM blobs WHERE id = OLD.blob_id;
END;

CREATE TRIGGER messages_count_insert AFTER INSERT ON messages
BEGIN
	UPDATE mailboxes SET n_messages = n_messages + 1,
		n_unseen = n_unseen + ((NEW.sysflags & 1) = 0),
		n_deleted = n_deleted + ((NEW.sysflags & 8) != 0),
		total_size = total_size + NEW.size
	WHERE id = NEW.mailbox_id;
END;

CREATE TRIGGER messages_count_delete AFTER DELETE ON messages
BEGIN
	UPDATE mailboxes SET n_messages = n_messages - 1,
		n_unseen = n_unseen - ((OLD.sysflags & 1) = 0),
		n_deleted = n_deleted - ((OLD.sysflags & 8) != 0),
		total_size = total_size - OLD.size
	WHERE id = OLD.mailbox_id;
END;

CREATE TRIGGER messages_count_update AFTER UPDATE OF mailbox_id, sysflags, size ON messages
WHEN OLD.mailbox_id != NEW.mailbox_id OR (OLD.sysflags & 9) != (NEW.sysflags & 9) OR OLD.size != NEW.size
BEGIN
	UPDATE mailboxes SET n_messages = n_messages - 1,
		n_unseen = n_unseen - ((OLD.sysflags & 1) = 0),
		n_deleted = n_deleted - ((OLD.sysflags & 8) != 0),
		total_size = total_size - OLD.size
	WHERE id = OLD.mailbox_id;
	UPDATE mailboxes SET n_messages = n_messages + 1,
		n_unseen = n_unseen + ((NEW.sysflags & 1) = 0),
		n_deleted = n_deleted + ((NEW.sysflags & 8) != 0),
		total_size = total_size + NEW.size
	WHERE id = NEW.mailbox_id;
END;
`,
	// 9: \Recent for IMAP4rev1 sessions (RFC 3501 §2.3.2): recent_uid is
	// the first UID that no session has taken as recent yet
	// (ClaimRecent). Mailboxes that exist already start with nothing
	// recent.
	`
ALTER TABLE mailboxes ADD COLUMN recent_uid INTEGER NOT NULL DEFAULT 0;
UPDATE mailboxes SET recent_uid = uidnext;
`,
	// 10: Sieve scripts (ids never reused: AUTOINCREMENT) and the
	// vacation/duplicate state of package sieve, keyed by a hash of
	// handle and sender (store.SieveStateKey), with an expiry.
	`
CREATE TABLE sieve_scripts (
	id         INTEGER PRIMARY KEY AUTOINCREMENT,
	account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
	name       TEXT NOT NULL,
	source     BLOB NOT NULL,
	active     INTEGER NOT NULL DEFAULT 0,
	updated    INTEGER NOT NULL, -- unix nanoseconds
	UNIQUE (account_id, name)
);
CREATE UNIQUE INDEX sieve_scripts_one_active ON sieve_scripts(account_id) WHERE active = 1;

CREATE TABLE sieve_state (
	account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
	kind       TEXT NOT NULL,
	key        TEXT NOT NULL, -- store.SieveStateKey(handle, key)
	at         INTEGER NOT NULL, -- unix nanoseconds
	expires    INTEGER NOT NULL,
	PRIMARY KEY (account_id, kind, key)
) WITHOUT ROWID;
`,
	// 11: domains and aliases edited at runtime (mailroom domain/alias,
	// the web admin). Targets are newline-separated (store.JoinTargets).
	`
CREATE TABLE domains (
	name    TEXT PRIMARY KEY,
	created INTEGER NOT NULL -- unix nanoseconds
) WITHOUT ROWID;

CREATE TABLE aliases (
	address TEXT PRIMARY KEY,
	domain  TEXT NOT NULL,
	targets TEXT NOT NULL,
	created INTEGER NOT NULL -- unix nanoseconds
) WITHOUT ROWID;
CREATE INDEX aliases_domain ON aliases(domain);
`,
	// 12: greylisting state (smtpserver): one row per triplet or client
	// network key, server-wide, expired by last_seen.
	`
CREATE TABLE greylist (
	key        TEXT PRIMARY KEY,
	first_seen INTEGER NOT NULL, -- unix nanoseconds
	last_seen  INTEGER NOT NULL,
	passes     INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE INDEX greylist_last_seen ON greylist(last_seen);
`,
	// 13: outbound submission counters per account and UTC day (the
	// abuse limits of package delivery; store.OutboundCounters).
	`
CREATE TABLE outbound_usage (
	account_id     INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
	day            INTEGER NOT NULL, -- days since the epoch, UTC
	hour           INTEGER NOT NULL, -- hours since the epoch of hour_messages
	hour_messages  INTEGER NOT NULL,
	day_messages   INTEGER NOT NULL,
	day_recipients INTEGER NOT NULL,
	external       BLOB NOT NULL, -- store.OutboundBitmapBytes
	notified       INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (account_id, day)
) WITHOUT ROWID;
`,
	// 14: the IMAP EMAILID (RFC 8474) of a message, kept by COPY and
	// MOVE: the id of the message it was copied from (NULL: its own id;
	// ids are never reused, see 8). store.Store.MessageEmailID.
	`
ALTER TABLE messages ADD COLUMN email_id INTEGER;
`,
	// 15: mailbox ACLs (RFC 4314, store.ACLs): identifier "anyone",
	// "authenticated" or a lower-cased address; rights canonical
	// (store.CanonicalRights). Rows go with their mailbox by cascade and
	// with an account's address by DeleteAccount.
	`
CREATE TABLE mailbox_acl (
	mailbox_id INTEGER NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
	identifier TEXT NOT NULL,
	rights     TEXT NOT NULL,
	PRIMARY KEY (mailbox_id, identifier)
) WITHOUT ROWID;
CREATE INDEX mailbox_acl_identifier ON mailbox_acl(identifier);
`,
	// 16: the state of incremental IMAP imports (store.Imports): per
	// source folder the UIDVALIDITY, HIGHESTMODSEQ and last UID seen,
	// and the source UID of each imported copy.
	`
CREATE TABLE import_folders (
	id            INTEGER PRIMARY KEY AUTOINCREMENT,
	account_id    INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
	source        TEXT NOT NULL,
	folder        TEXT NOT NULL,
	mailbox_id    INTEGER NOT NULL,
	uidvalidity   INTEGER NOT NULL,
	highestmodseq INTEGER NOT NULL,
	last_uid      INTEGER NOT NULL,
	UNIQUE (account_id, source, folder)
);
CREATE TABLE import_uids (
	folder_id INTEGER NOT NULL REFERENCES import_folders(id) ON DELETE CASCADE,
	src_uid   INTEGER NOT NULL,
	uid       INTEGER NOT NULL,
	PRIMARY KEY (folder_id, src_uid)
) WITHOUT ROWID;
`,
	// 17: IMAP METADATA entries (RFC 5464) of an account, mailbox_id 0
	// for server entries (so no foreign key on it: DeleteMailbox removes
	// a mailbox's rows), and the URLAUTH access keys (RFC 4467) of its
	// mailboxes. store.Metadata.
	`
CREATE TABLE metadata (
	account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
	mailbox_id INTEGER NOT NULL, -- 0: server entry
	name       TEXT NOT NULL,    -- lower case, "/private/..." or "/shared/..."
	value      BLOB NOT NULL,
	PRIMARY KEY (account_id, mailbox_id, name)
) WITHOUT ROWID;

CREATE TABLE urlauth_keys (
	account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
	mailbox_id INTEGER NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
	key        BLOB NOT NULL,
	PRIMARY KEY (account_id, mailbox_id)
) WITHOUT ROWID;
`,
	// 18: recipients of an account's submissions that failed for good,
	// per day (the failed-recipient ratio; store.OutboundCounters).
	`
ALTER TABLE outbound_usage ADD COLUMN day_failed INTEGER NOT NULL DEFAULT 0;
`,
	// 19: when the message was put into its mailbox (IMAP SAVEDATE, RFC
	// 8514), unix nanoseconds; NULL for rows from before: the internal
	// date stands in. store.Store.SaveDates.
	`
ALTER TABLE messages ADD COLUMN save_date INTEGER;
`,
	// 20: each blob's MIME part tree, message.Marshal of message.Parse of
	// its bytes, in a table of its own (as headers, 7: a column of blobs
	// after raw would be read by walking raw's overflow pages), so FETCH
	// BODYSTRUCTURE and ENVELOPE read a few hundred bytes instead of
	// parsing the message again. blobs.part (the JSON tree, never read
	// since) is '' from now on. Older blobs get their tree when first
	// read (sqlcore.Core.ListParts parses their bytes and saves it).
	`
CREATE TABLE trees (
	blob_id INTEGER PRIMARY KEY REFERENCES blobs(id) ON DELETE CASCADE,
	tree    BLOB NOT NULL
);
`,
	// 21: the full-text index of SEARCH TEXT/BODY (sqlcore/textindex.go):
	// per blob, its header and text parts decoded and case-folded
	// (message.Fold), in a contentless FTS5 table with the trigram
	// tokenizer (substring matching). Blobs that exist now are indexed by
	// "mailroom reindex"; until then text_index_state.unindexed_below says
	// which blobs may lack an entry (those below it without one are read).
	`
CREATE VIRTUAL TABLE blob_text USING fts5(hdr, body, content='', contentless_delete=1,
	tokenize='trigram case_sensitive 1', detail=column);
CREATE TRIGGER blobs_text_gc AFTER DELETE ON blobs
BEGIN
	DELETE FROM blob_text WHERE rowid = OLD.id;
END;
CREATE TABLE text_index_state (unindexed_below INTEGER NOT NULL);
INSERT INTO text_index_state SELECT coalesce(max(id), 0) + 1 FROM blobs;
`,
	// 22: blobs whose full-text entry the background indexer has yet to
	// write (sqlcore/textpending.go): a delivery adds a row instead of
	// the entry. seq is never reused (a blob id is: the highest is
	// handed out again after a delete), so the indexer takes off exactly
	// the rows it read. A row goes with its blob.
	`
CREATE TABLE text_pending (
	seq     INTEGER PRIMARY KEY AUTOINCREMENT,
	blob_id INTEGER NOT NULL REFERENCES blobs(id) ON DELETE CASCADE
);
CREATE INDEX text_pending_blob ON text_pending(blob_id);
`,
	// 23: the full-text index with detail=full, whose phrase queries
	// match substrings exactly, so SEARCH TEXT reads no message the index
	// names (sqlite/core.go TextPattern). The entries are rebuilt: every
	// blob is pending (newest first), for the background indexer, and
	// read by SearchText until then; none is left for "mailroom reindex".
	// messages_blob also covers mailbox_id and uid, so SearchText turns
	// the index's hits into UIDs without reading messages rows (10,000
	// hits: ~0.1 s instead of ~0.6 s with a cold page cache).
	`
DROP INDEX messages_blob;
CREATE INDEX messages_blob ON messages(blob_id, mailbox_id, uid);
DROP TABLE blob_text;
CREATE VIRTUAL TABLE blob_text USING fts5(hdr, body, content='', contentless_delete=1,
	tokenize='trigram case_sensitive 1', detail=full);
DELETE FROM text_pending;
INSERT INTO text_pending(blob_id) SELECT id FROM blobs ORDER BY id DESC;
UPDATE text_index_state SET unindexed_below = 0;
`,
}

// schemaVersion is the version a database has after Open.
var schemaVersion = len(migrations)

// migrate brings the database on conn up to version target, one transaction
// per migration. It refuses a database newer than this binary.
func migrate(ctx context.Context, db *sql.DB, target int) error {
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	// Foreign keys off while migrating: a migration that rebuilds a table
	// drops the old one, which must not cascade (it can only be switched
	// outside a transaction). Each migration checks them before commit.
	if _, err := conn.ExecContext(ctx, "PRAGMA foreign_keys = OFF"); err != nil {
		return fmt.Errorf("sqlite: migrate: %w", err)
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), "PRAGMA foreign_keys = ON")
	for {
		tx, err := conn.BeginTx(ctx, nil) // BEGIN IMMEDIATE (see dsn): re-read the version under the write lock
		if err != nil {
			return fmt.Errorf("sqlite: migrate: %w", err)
		}
		var v int
		if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
			tx.Rollback()
			return fmt.Errorf("sqlite: read schema version: %w", err)
		}
		if v > len(migrations) {
			tx.Rollback()
			return fmt.Errorf("sqlite: database schema version %d is newer than this program (%d)", v, len(migrations))
		}
		if v >= target {
			return tx.Rollback()
		}
		if _, err := tx.ExecContext(ctx, migrations[v]); err != nil {
			tx.Rollback()
			return fmt.Errorf("sqlite: migration %d: %w", v+1, err)
		}
		if err := checkForeignKeys(ctx, tx); err != nil {
			tx.Rollback()
			return fmt.Errorf("sqlite: migration %d: %w", v+1, err)
		}
		if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", v+1)); err != nil {
			tx.Rollback()
			return fmt.Errorf("sqlite: migration %d: %w", v+1, err)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("sqlite: migration %d: %w", v+1, err)
		}
	}
}

// checkForeignKeys fails if any row violates a foreign key.
func checkForeignKeys(ctx context.Context, tx *sql.Tx) error {
	rows, err := tx.QueryContext(ctx, "PRAGMA foreign_key_check")
	if err != nil {
		return err
	}
	defer rows.Close()
	if rows.Next() {
		var table string
		var rowid sql.NullInt64
		var parent string
		var fkid int64
		if err := rows.Scan(&table, &rowid, &parent, &fkid); err != nil {
			return err
		}
		return fmt.Errorf("foreign key violation: %s row %d references a missing %s", table, rowid.Int64, parent)
	}
	return rows.Err()
}
