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

// ReadMetas implements sqlcore.MetaReader: it appends the metadata of the
// rows query selects (sqlcore.MetaCols, in UID order). The rows come back as one text value built by SQLite,
// one line per message, and are parsed here: database/sql costs about ten
// allocations per row and column conversions per value, which dominated
// FETCH 1:* on large mailboxes.
func (r readDB) ReadMetas(ctx context.Context, buf []store.MessageMeta, query string, args ...any) ([]store.MessageMeta, error) {
	packed := "SELECT group_concat(id||' '||uid||' '||modseq||' '||sysflags||' '||internal_date||' '||tz_offset||' '||size||' '||wire_size||' '||keywords, char(10)) FROM (" + query + ")"
	start := len(buf)
	var text sql.NullString
	if err := r.s.rQueryRow(ctx, packed, args...).Scan(&text); err != nil {
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

var _ sqlcore.MetaReader = readDB{}

// listChunk is ListMessages' chunk (the tests read more than one).
const listChunk = sqlcore.ListChunk
