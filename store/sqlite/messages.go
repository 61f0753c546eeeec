package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"

	"github.com/mailroom/mailroom/store"
	"github.com/mailroom/mailroom/store/internal/sqlcore"
)

// MessageUIDs implements store.Store.
func (s *Store) MessageUIDs(ctx context.Context, ref store.MailboxRef) ([]uint32, error) {
	// One row with all UIDs as text is much faster to move through
	// database/sql than one row per UID.
	var list sql.NullString
	var n int
	err := s.rQueryRow(ctx, `SELECT count(*), (SELECT group_concat(uid) FROM (SELECT uid FROM messages WHERE mailbox_id = $1 ORDER BY uid))
		FROM mailboxes WHERE `+sqlcore.RefWhere, sqlcore.RefArgs(ref)...).Scan(&n, &list)
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, sqlcore.RefNotFound(ref)
	}
	if !list.Valid || list.String == "" {
		return []uint32{}, nil
	}
	str := list.String
	uids := make([]uint32, 0, strings.Count(str, ",")+1)
	for str != "" {
		var f string
		f, str, _ = strings.Cut(str, ",")
		u, err := strconv.ParseUint(f, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("sqlite: bad uid %q: %w", f, err)
		}
		uids = append(uids, uint32(u))
	}
	return uids, nil
}
