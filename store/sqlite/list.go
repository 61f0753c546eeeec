package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/mailroom/mailroom/store/internal/flagset"
	"github.com/mailroom/mailroom/store/internal/sqlcore"

	"github.com/mailroom/mailroom/store"
)

// listChunk is how many rows ListMessages reads per query. Reading in
// chunks keeps memory bounded and never holds a read transaction open
// while the callback runs (it may write to a slow network peer).
const listChunk = 1024

// ListMessages implements store.Store.
func (s *Store) ListMessages(ctx context.Context, ref store.MailboxRef, uids []uint32, fn func(store.MessageMeta) error) error {
	// Checked apart from the reads: safe because mailbox ids are never
	// reused (see listBytes).
	if _, err := s.MailboxByID(ctx, ref); err != nil {
		return err
	}
	mailboxID := ref.MailboxID
	if uids != nil && !slices.IsSorted(uids) {
		uids = slices.Clone(uids)
		slices.Sort(uids)
	}
	buf := make([]store.MessageMeta, 0, listChunk)
	var last uint32
	for {
		buf = buf[:0]
		var err error
		if uids == nil {
			buf, err = s.readMetas(ctx, buf, "SELECT "+sqlcore.MetaCols+" FROM messages WHERE mailbox_id = ? AND uid > ? ORDER BY uid LIMIT ?", mailboxID, last, listChunk)
		} else {
			if len(uids) == 0 {
				return nil
			}
			n := min(len(uids), listChunk)
			buf, err = s.readChunk(ctx, buf, mailboxID, uids[:n])
			uids = uids[n:]
		}
		if err != nil {
			return err
		}
		for _, m := range buf {
			if err := fn(m); err != nil {
				return err
			}
		}
		if uids == nil {
			if len(buf) < listChunk {
				return nil
			}
			last = buf[len(buf)-1].UID
		}
	}
}

// readChunk reads the metadata of the messages in uids (sorted, at most
// listChunk). When the UIDs are dense (FETCH 1:* on a mailbox with few
// holes), one range scan of the (mailbox_id, uid) index filtered here is
// several times cheaper than one index seek per UID through json_each.
func (s *Store) readChunk(ctx context.Context, buf []store.MessageMeta, mailboxID int64, uids []uint32) ([]store.MessageMeta, error) {
	first, last := uids[0], uids[len(uids)-1]
	if uint64(last-first) >= 2*uint64(len(uids)) {
		return s.readMetas(ctx, buf, "SELECT "+sqlcore.MetaCols+" FROM messages WHERE mailbox_id = ? AND uid IN (SELECT value FROM json_each(?)) ORDER BY uid", mailboxID, uidsJSON(uids))
	}
	start := len(buf)
	buf, err := s.readMetas(ctx, buf, "SELECT "+sqlcore.MetaCols+" FROM messages WHERE mailbox_id = ? AND uid BETWEEN ? AND ? ORDER BY uid", mailboxID, first, last)
	if err != nil {
		return buf, err
	}
	// Keep the rows whose UID was asked for (both lists ascending).
	kept, i := buf[:start], 0
	for _, m := range buf[start:] {
		for i < len(uids) && uids[i] < m.UID {
			i++
		}
		if i < len(uids) && uids[i] == m.UID {
			kept = append(kept, m)
		}
	}
	return kept, nil
}

// readMetas appends the metadata of the rows query selects (sqlcore.MetaCols, in
// UID order). The rows come back as one text value built by SQLite,
// one line per message, and are parsed here: database/sql costs about ten
// allocations per row and column conversions per value, which dominated
// FETCH 1:* on large mailboxes.
func (s *Store) readMetas(ctx context.Context, buf []store.MessageMeta, query string, args ...any) ([]store.MessageMeta, error) {
	packed := "SELECT group_concat(id||' '||uid||' '||modseq||' '||sysflags||' '||internal_date||' '||tz_offset||' '||size||' '||wire_size||' '||keywords, char(10)) FROM (" + query + ")"
	start := len(buf)
	var text sql.NullString
	if err := s.rQueryRow(ctx, packed, args...).Scan(&text); err != nil {
		return buf, fmt.Errorf("sqlite: list messages: %w", err)
	}
	for line := range strings.SplitSeq(text.String, "\n") {
		if line == "" {
			continue
		}
		m, err := parseMetaLine(line)
		if err != nil {
			return buf, fmt.Errorf("sqlite: list messages: %w", err)
		}
		buf = append(buf, m)
	}
	// group_concat takes the subquery's rows in order in practice, but
	// SQLite does not promise it (an ORDER BY inside the aggregate costs
	// a sort); callers rely on UID order.
	rows := buf[start:]
	if !slices.IsSortedFunc(rows, byUID) {
		slices.SortFunc(rows, byUID)
	}
	return buf, nil
}

func byUID(a, b store.MessageMeta) int { return cmp.Compare(a.UID, b.UID) }

// parseMetaLine parses "id uid modseq sysflags date tz size wiresize keywords".
func parseMetaLine(line string) (store.MessageMeta, error) {
	var v [8]int64
	for i := range v {
		sp := strings.IndexByte(line, ' ')
		if sp < 0 {
			return store.MessageMeta{}, fmt.Errorf("malformed row %q", line)
		}
		n, err := strconv.ParseInt(line[:sp], 10, 64)
		if err != nil {
			return store.MessageMeta{}, err
		}
		v[i], line = n, line[sp+1:]
	}
	m := store.MessageMeta{ID: v[0], UID: uint32(v[1]), ModSeq: uint64(v[2]), Size: v[6], WireSize: v[7]}
	m.Flags = flagset.Decode(v[3], line)
	m.InternalDate = sqlcore.DecodeTime(v[4], v[5])
	return m, nil
}
