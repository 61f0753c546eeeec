package sqlcore

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/mailroom/mailroom/message"
	"github.com/mailroom/mailroom/store"
)

// The full-text index answers SEARCH TEXT and BODY without reading every
// message. Each blob has one entry: its top-level header as SEARCH TEXT
// sees it (message.Part.HeaderText) and its decoded text parts
// (TextForSearch), both case-folded with message.Fold, exactly the strings
// the IMAP matcher folds and searches. Folding before indexing makes the
// index's substring match the matcher's: the text contains Fold(needle)
// or it does not. The entry is written with the blob, in the delivery's
// transaction, and goes with it (trigger, ON DELETE CASCADE); or, where
// the backend indexes in the background (textpending.go, SQLite), soon
// after the delivery commits.
//
// Blobs stored before the index existed have no entry until ReindexText
// adds one; text_index_state.unindexed_below bounds them (every blob at or
// above it has an entry), so SearchText returns them as candidates too
// and a search never misses a message, indexed or not.

// minNeedleRunes is the shortest needle the index answers: trigrams.
const minNeedleRunes = 3

// reindexChunk is how many blobs ReindexText reads and indexes per
// transaction: few, so that a write holds the writer briefly while serve
// runs, and memory stays bounded by that many messages.
const reindexChunk = 32

// pendingChunkBytes bounds the stored bytes ReindexText reads for one
// transaction of pending blobs.
const pendingChunkBytes = 4 << 20

// indexText is the header and body text a blob's index entry holds. NUL
// (which PostgreSQL text cannot hold) becomes a space: a needle without
// NUL or space matches the text the same, needles with NUL are not looked
// up, and the hits of a needle with a space are only candidates
// (exactNeedle).
func indexText(raw []byte, p *message.Part) (hdr, body string) {
	hdr, body = foldedText(raw, p)
	return strings.ReplaceAll(hdr, "\x00", " "), strings.ReplaceAll(body, "\x00", " ")
}

// foldedText is the header and body text the IMAP matcher searches.
func foldedText(raw []byte, p *message.Part) (hdr, body string) {
	if p == nil {
		p = message.Parse(raw)
	}
	return message.Fold(p.HeaderText(raw)), message.Fold(p.TextForSearch(raw))
}

// exactNeedle reports whether an entry that contains the folded needle
// is a message that contains it: unless the needle has a space, which in
// the entry may stand for a NUL of the message.
func exactNeedle(folded string) bool { return !strings.Contains(folded, " ") }

// indexable reports whether the index can look up the folded needle.
func indexable(folded string) bool {
	return utf8.ValidString(folded) && !strings.Contains(folded, "\x00") &&
		utf8.RuneCountInString(folded) >= minNeedleRunes
}

// insertBlob stores p's blob and its index entry, or marks it pending.
func (c *Core) insertBlob(tx Tx, p *Prepared) (int64, error) {
	id, err := c.d.InsertBlob(tx, p)
	if err != nil {
		return 0, err
	}
	if c.pending != nil {
		err = c.pending.MarkPending(tx, id)
	} else {
		err = c.d.IndexText(tx, id, p.HdrText, p.BodyText)
	}
	if err != nil {
		return 0, fmt.Errorf("store: index message text: %w", err)
	}
	return id, nil
}

// SearchText implements store.Store: exact hits are the index's, where
// the dialect's lookup is exact for the needle, and the pending blobs'
// (matched here as the scan would); candidates are the blobs below
// unindexed_below without an entry, and the index's otherwise.
func (c *Core) SearchText(ctx context.Context, ref store.MailboxRef, q store.TextQuery) (store.TextHits, bool, error) {
	needle := message.Fold(q.Needle)
	if !indexable(needle) {
		return store.TextHits{}, false, nil
	}
	if _, err := c.MailboxByID(ctx, ref); err != nil {
		return store.TextHits{}, false, err
	}
	indexExact := c.d.TextExact(needle) && exactNeedle(needle)
	var exact, cands []uint32
	// One snapshot: a reindex that commits between the two reads would
	// otherwise move a message from the second list to the first unseen.
	err := c.db.Snapshot(ctx, func(r Reader) error {
		exact, cands = exact[:0], cands[:0]
		// readUIDs appends to *to the UIDs "SELECT m.uid "+from finds:
		// in one row where the dialect concatenates them.
		readUIDs := func(to *[]uint32, from string, args ...any) error {
			if agg, ok := c.d.(UIDConcat); ok {
				var list string
				if err := r.QueryRow("SELECT "+agg.ConcatUIDs("m.uid")+" "+from, args...).Scan(&list); err != nil {
					return err
				}
				var err error
				*to, err = appendUIDList(*to, list)
				return err
			}
			rows, err := r.Query("SELECT m.uid "+from, args...)
			if err != nil {
				return err
			}
			got, err := CollectUIDs(rows)
			*to = append(*to, got...)
			return err
		}
		indexed := &cands
		if indexExact {
			indexed = &exact
		}
		// The index's hits first, each looked up by blob (CROSS JOIN
		// keeps SQLite to that order): as many lookups as hits, where
		// "m.blob_id IN (...)" read every message of the mailbox.
		if err := readUIDs(indexed, "FROM ("+c.d.TextMatch(q.BodyOnly)+") t CROSS JOIN messages m WHERE m.blob_id = t.id AND m.mailbox_id = $1",
			ref.MailboxID, c.d.TextPattern(needle, q.BodyOnly)); err != nil {
			return err
		}
		if c.pending != nil {
			got, err := c.pendingMatches(r, ref.MailboxID, needle, q.BodyOnly)
			if err != nil {
				return err
			}
			exact = append(exact, got...)
		}
		var below int64
		if err := r.QueryRow("SELECT unindexed_below FROM text_index_state").Scan(&below); err != nil {
			return err
		}
		if below <= 1 {
			return nil
		}
		return readUIDs(&cands, "FROM messages m WHERE m.mailbox_id = $1 AND m.blob_id < $2 AND NOT "+c.d.TextIndexed("m.blob_id"),
			ref.MailboxID, below)
	})
	if err != nil {
		return store.TextHits{}, false, fmt.Errorf("store: search text: %w", err)
	}
	return textHits(exact, cands), true, nil
}

// A Dialect that is a UIDConcat hands SearchText the UIDs of a query in
// one row: SQLite steps the rows inside the engine, where handing out
// 10,000 rows one by one (database/sql's lock and scan, SQLite's API
// mutex per call) was the largest cost outside SQLite's own work of a
// SEARCH TEXT with 10,000 hits (docs/benchmarks.md).
type UIDConcat interface {
	// ConcatUIDs returns an aggregate of the UID column col: its values
	// in decimal, separated by commas, "" for no rows.
	ConcatUIDs(col string) string
}

// appendUIDList appends to uids the UIDs of list, as ConcatUIDs makes it.
func appendUIDList(uids []uint32, list string) ([]uint32, error) {
	for len(list) > 0 {
		var u uint64
		i := 0
		for ; i < len(list) && list[i] != ','; i++ {
			d := list[i] - '0'
			if d > 9 || u > (math.MaxUint32-uint64(d))/10 {
				return uids, fmt.Errorf("store: bad UID list at %q", list[i:min(i+12, len(list))])
			}
			u = u*10 + uint64(d)
		}
		if i == 0 || i == len(list)-1 {
			return uids, fmt.Errorf("store: bad UID list at %q", list[:min(12, len(list))])
		}
		uids = append(uids, uint32(u))
		list = list[min(i+1, len(list)):]
	}
	return uids, nil
}

// textHits sorts both lists and leaves out of cands what exact has.
func textHits(exact, cands []uint32) store.TextHits {
	slices.Sort(exact)
	exact = slices.Compact(exact)
	slices.Sort(cands)
	cands = slices.Compact(cands)
	if len(exact) > 0 && len(cands) > 0 {
		cands = slices.DeleteFunc(cands, func(u uint32) bool {
			_, found := slices.BinarySearch(exact, u)
			return found
		})
	}
	return store.TextHits{Exact: exact, Candidates: cands}
}

// ReindexText implements store.Store: the blobs without an index entry,
// newest first, reindexChunk per transaction. Safe while the server runs:
// deliveries index their own blobs, an entry is added only if the blob
// still exists and has none, and unindexed_below only goes down, past
// blobs that all have entries.
func (c *Core) ReindexText(ctx context.Context, accountID int64, progress func(done, total int64)) error {
	var below int64
	if err := c.db.QueryRow(ctx, "SELECT unindexed_below FROM text_index_state").Scan(&below); err != nil {
		return fmt.Errorf("store: reindex: %w", err)
	}
	if accountID != 0 {
		if _, err := c.AccountByID(ctx, accountID); err != nil {
			return err
		}
	}
	cond := "b.id < $1 AND NOT " + c.d.TextIndexed("b.id")
	args := []any{below}
	if accountID != 0 {
		cond += " AND EXISTS (SELECT 1 FROM messages m JOIN mailboxes x ON x.id = m.mailbox_id WHERE m.blob_id = b.id AND x.account_id = $2)"
		args = append(args, accountID)
	}
	var total int64
	if err := c.db.QueryRow(ctx, "SELECT count(*) FROM blobs b WHERE "+cond, args...).Scan(&total); err != nil {
		return fmt.Errorf("store: reindex: %w", err)
	}
	var done int64
	if progress != nil {
		progress(0, total)
	}
	limit := fmt.Sprintf(" ORDER BY b.id DESC LIMIT %d", reindexChunk)
	// mark is unindexed_below as this run last saw or set it; lowering,
	// whether it still is.
	mark, lowering, lowered := below, accountID == 0, false
	for cursor := below; ; {
		if err := ctx.Err(); err != nil {
			return err
		}
		args[0] = cursor
		rows, err := c.db.Query(ctx, "SELECT b.id, b.raw FROM blobs b WHERE "+cond+limit, args...)
		if err != nil {
			return fmt.Errorf("store: reindex: %w", err)
		}
		entries, err := foldBlobs(rows)
		if err != nil {
			return fmt.Errorf("store: reindex: %w", err)
		}
		if len(entries) == 0 {
			break
		}
		cursor = entries[len(entries)-1].BlobID
		err = c.write(ctx, func(tx Tx) error {
			for _, e := range entries {
				if err := c.d.IndexText(tx, e.BlobID, e.Hdr, e.Body); err != nil {
					return err
				}
			}
			if accountID != 0 {
				return nil
			}
			// Every blob from cursor up has an entry now (or is gone),
			// unless something raised the mark meanwhile (a PostgreSQL
			// node of an older version storing a blob without an entry,
			// migration 13): then it stays as it is.
			if lowering {
				n, err := tx.Exec("UPDATE text_index_state SET unindexed_below = $1 WHERE unindexed_below = $2 AND $1 < $2", cursor, mark)
				if err != nil {
					return err
				}
				lowered = n > 0
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("store: reindex: %w", err)
		}
		if lowering && lowered {
			mark = cursor
		}
		lowering = lowering && lowered
		done += int64(len(entries))
		if progress != nil {
			progress(done, max(total, done))
		}
	}
	if progress != nil && done != total {
		progress(done, done) // blobs counted in total were deleted meanwhile
	}
	if lowering {
		// No blob below cursor lacked an entry when the last read ran,
		// and blobs stored since have their own (or are pending).
		if err := c.write(ctx, func(tx Tx) error {
			_, err := tx.Exec("UPDATE text_index_state SET unindexed_below = 0 WHERE unindexed_below = $1", mark)
			return err
		}); err != nil {
			return fmt.Errorf("store: reindex: %w", err)
		}
	}
	// Over all accounts, also what the background indexer has yet to do
	// (its process may not be running).
	for accountID == 0 && c.pending != nil {
		n, err := c.IndexPending(ctx, c.write, reindexChunk, pendingChunkBytes)
		if err != nil || n == 0 {
			return err
		}
	}
	return nil
}
