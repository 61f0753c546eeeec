package sqlcore

import (
	"context"
	"fmt"
	"strings"
)

// A backend whose Dialect is a PendingText keeps the full-text index off
// the delivery path: a delivery computes no text and only records its
// blob in text_pending (MarkPending), in its own transaction, and a
// background indexer of the backend calls IndexPending, which reads the
// oldest pending blobs, computes their entries outside any write and
// writes them in one transaction, many per statement. A pending row lives
// as long as its blob (ON DELETE CASCADE) and survives restarts, so an
// entry is never lost between the delivery's commit and the indexer.
// SearchText reads the pending blobs of the mailbox and matches them as
// the index would, so its answer does not depend on the indexer's pace.

// PendingText is the Dialect of a backend that indexes text in the
// background. Its text_pending table has an AUTOINCREMENT seq (a blob id
// can be freed and taken again: seq tells the rows of the two apart) and
// blob_id.
type PendingText interface {
	// MarkPending records in tx that blob blobID has no entry yet.
	MarkPending(tx Tx, blobID int64) error
	// WriteTexts adds the entries in tx, at once, except for blobs that
	// have an entry already.
	WriteTexts(tx Tx, entries []TextEntry) error
	// ClaimPending is the clause that locks the pending rows the
	// indexer reads and passes over those another indexer locked ("FOR
	// UPDATE OF p SKIP LOCKED"), for a backend whose indexers run on
	// several nodes beside the writer; "" for one whose indexer reads
	// before its write transaction.
	ClaimPending() string
}

// TextEntry is a blob's full-text index entry (indexText).
type TextEntry struct {
	BlobID    int64
	Hdr, Body string
}

// IndexPending indexes the oldest pending blobs: at most maxBlobs, and no
// more once their bytes reach maxBytes (at least one), in one transaction
// of write (the backend's low-priority path). It returns how many it took
// off the pending list; 0 means none were pending.
//
// With a ClaimPending clause it reads, computes and writes in that one
// transaction, so each pending blob is read and folded by one node only;
// otherwise it reads before the write, and two indexers reading the same
// rows write one entry (the DELETE … RETURNING below).
func (c *Core) IndexPending(ctx context.Context, write WriteFunc, maxBlobs int, maxBytes int64) (int, error) {
	if c.pending == nil {
		return 0, nil
	}
	var n int
	var err error
	if claim := c.pending.ClaimPending(); claim != "" {
		err = write(ctx, func(tx Tx) error {
			seqs, entries, err := c.claimPending(tx, claim, maxBlobs, maxBytes)
			if n = len(seqs); err != nil || n == 0 {
				return err
			}
			if _, err := tx.Exec("DELETE FROM text_pending WHERE "+c.d.In("seq", 1), c.d.IDs(seqs)); err != nil {
				return err
			}
			return c.pending.WriteTexts(tx, entries)
		})
	} else {
		n, err = c.indexRead(ctx, write, maxBlobs, maxBytes)
	}
	if err != nil {
		return 0, fmt.Errorf("store: index pending text: %w", err)
	}
	return n, nil
}

// readPending reads the oldest pending blobs (IndexPending's bounds) and
// computes their entries.
func readPending(r Reader, maxBlobs int, maxBytes int64) ([]int64, []TextEntry, error) {
	rows, err := r.Query("SELECT p.seq, p.blob_id, b.raw FROM text_pending p JOIN blobs b ON b.id = p.blob_id ORDER BY p.seq LIMIT $1", maxBlobs)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	var seqs []int64
	var entries []TextEntry
	var size int64
	for size < maxBytes && rows.Next() {
		var seq int64
		var e TextEntry
		var raw []byte
		if err := rows.Scan(&seq, &e.BlobID, &raw); err != nil {
			return nil, nil, err
		}
		e.Hdr, e.Body = indexText(raw, nil)
		size += int64(len(raw))
		seqs = append(seqs, seq)
		entries = append(entries, e)
	}
	return seqs, entries, rows.Err()
}

// claimPending locks the oldest pending rows no other indexer holds, up
// to IndexPending's bounds (the sizes read first, so that no blob past
// maxBytes is sent), and computes their entries.
func (c *Core) claimPending(tx Tx, claim string, maxBlobs int, maxBytes int64) ([]int64, []TextEntry, error) {
	type row struct{ seq, blob, size int64 }
	rows, err := tx.Query("SELECT p.seq, p.blob_id, b.size FROM text_pending p JOIN blobs b ON b.id = p.blob_id ORDER BY p.seq LIMIT $1 "+claim, maxBlobs)
	if err != nil {
		return nil, nil, err
	}
	claimed, err := Collect(rows, func(r Row) (row, error) {
		var x row
		return x, r.Scan(&x.seq, &x.blob, &x.size)
	})
	if err != nil || len(claimed) == 0 {
		return nil, nil, err
	}
	var seqs, blobs []int64
	var size int64
	for _, x := range claimed {
		if size >= maxBytes {
			break // locked until the commit, taken next time
		}
		size += x.size
		seqs, blobs = append(seqs, x.seq), append(blobs, x.blob)
	}
	rows, err = tx.Query("SELECT id, raw FROM blobs WHERE "+c.d.In("id", 1), c.d.IDs(blobs))
	if err != nil {
		return nil, nil, err
	}
	entries, err := foldBlobs(rows)
	return seqs, entries, err
}

// foldBlobs reads rows of blob id and raw and computes their entries.
func foldBlobs(rows Rows) ([]TextEntry, error) {
	return Collect(rows, func(r Row) (TextEntry, error) {
		var e TextEntry
		var raw []byte
		if err := r.Scan(&e.BlobID, &raw); err != nil {
			return e, err
		}
		e.Hdr, e.Body = indexText(raw, nil)
		return e, nil
	})
}

// indexRead is IndexPending without a claim: the entries are computed
// from a read before the write transaction, which then writes those whose
// rows are still pending.
func (c *Core) indexRead(ctx context.Context, write WriteFunc, maxBlobs int, maxBytes int64) (int, error) {
	var seqs []int64
	var entries []TextEntry
	err := c.db.Snapshot(ctx, func(r Reader) error {
		var err error
		seqs, entries, err = readPending(r, maxBlobs, maxBytes)
		return err
	})
	if err != nil || len(seqs) == 0 {
		return 0, err
	}
	bySeq := make(map[int64]TextEntry, len(seqs))
	for i, s := range seqs {
		bySeq[s] = entries[i]
	}
	err = write(ctx, func(tx Tx) error {
		// Only the rows still pending: a blob deleted meanwhile took its
		// row along, and a blob that took its id has a row of its own.
		rows, err := tx.Query("DELETE FROM text_pending WHERE "+c.d.In("seq", 1)+" RETURNING seq", c.d.IDs(seqs))
		if err != nil {
			return err
		}
		kept, err := Collect(rows, func(r Row) (TextEntry, error) {
			var s int64
			err := r.Scan(&s)
			return bySeq[s], err
		})
		if err != nil {
			return err
		}
		return c.pending.WriteTexts(tx, kept)
	})
	return len(seqs), err
}

// TextPending returns how many blobs wait for the indexer.
func (c *Core) TextPending(ctx context.Context) (int64, error) {
	var n int64
	if c.pending == nil {
		return 0, nil
	}
	if err := c.db.QueryRow(ctx, "SELECT count(*) FROM text_pending").Scan(&n); err != nil {
		return 0, fmt.Errorf("store: count pending text: %w", err)
	}
	return n, nil
}

// pendingMatches returns the UIDs of the messages of the mailbox whose
// blob is pending and whose text contains the folded needle, as the IMAP
// matcher reads it: exact hits.
func (c *Core) pendingMatches(r Reader, mailboxID int64, needle string, bodyOnly bool) ([]uint32, error) {
	// CROSS JOIN: SQLite reads the few pending rows first, not every
	// message of the mailbox.
	rows, err := r.Query("SELECT m.uid, b.raw FROM text_pending p CROSS JOIN messages m CROSS JOIN blobs b WHERE m.blob_id = p.blob_id AND m.mailbox_id = $1 AND b.id = p.blob_id", mailboxID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var uids []uint32
	for rows.Next() {
		var uid int64
		var raw []byte
		if err := rows.Scan(&uid, &raw); err != nil {
			return nil, err
		}
		hdr, body := foldedText(raw, nil)
		if strings.Contains(body, needle) || !bodyOnly && strings.Contains(hdr, needle) {
			uids = append(uids, uint32(uid))
		}
	}
	return uids, rows.Err()
}
