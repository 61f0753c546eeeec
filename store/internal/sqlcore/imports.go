package sqlcore

import (
	"context"
	"fmt"

	"github.com/mailroom/mailroom/store"
)

// ImportFolder implements store.Store.
func (c *Core) ImportFolder(ctx context.Context, accountID int64, source, folder string) (store.ImportFolder, error) {
	f := store.ImportFolder{Source: source, Folder: folder}
	var uv, modseq, last int64
	err := c.db.QueryRow(ctx, `SELECT mailbox_id, uidvalidity, highestmodseq, last_uid FROM import_folders
		WHERE account_id = $1 AND source = $2 AND folder = $3`, accountID, source, folder).Scan(&f.MailboxID, &uv, &modseq, &last)
	if err != nil {
		if c.d.IsNoRows(err) {
			return f, store.ErrNotFound
		}
		return f, err
	}
	f.UIDValidity, f.HighestModSeq, f.LastUID = uint32(uv), uint64(modseq), uint32(last)
	return f, nil
}

// importPairsPerStatement bounds the list one INSERT of UID pairs binds.
const importPairsPerStatement = 5000

// SaveImportFolder implements store.Store.
func (c *Core) SaveImportFolder(ctx context.Context, accountID int64, f store.ImportFolder, reset bool, pairs []store.UIDPair) error {
	if f.Source == "" || f.Folder == "" {
		return fmt.Errorf("%w: import folder without source or folder", store.ErrInvalid)
	}
	// A source UID given twice keeps its last target (one statement may
	// not update a row twice on PostgreSQL).
	last := make(map[uint32]int, len(pairs))
	for i, p := range pairs {
		last[p.Src] = i
	}
	packed := make([]int64, 0, len(last))
	for i, p := range pairs {
		if last[p.Src] == i {
			packed = append(packed, int64(uint64(p.Src)<<32|uint64(p.Dst))) // negative from 2^31 on
		}
	}
	return c.write(ctx, func(tx Tx) error {
		var owner int64
		if err := tx.QueryRow("SELECT account_id FROM mailboxes WHERE id = $1", f.MailboxID).Scan(&owner); err != nil {
			if c.d.IsNoRows(err) {
				return store.ErrNotFound
			}
			return err
		}
		if owner != accountID {
			return store.ErrNotFound
		}
		var id int64
		if err := tx.QueryRow(`INSERT INTO import_folders(account_id, source, folder, mailbox_id, uidvalidity, highestmodseq, last_uid)
			VALUES ($1, $2, $3, $4, $5, $6, $7)
			ON CONFLICT (account_id, source, folder) DO UPDATE SET mailbox_id = excluded.mailbox_id,
				uidvalidity = excluded.uidvalidity, highestmodseq = excluded.highestmodseq, last_uid = excluded.last_uid
			RETURNING id`,
			accountID, f.Source, f.Folder, f.MailboxID, int64(f.UIDValidity), int64(f.HighestModSeq), int64(f.LastUID)).Scan(&id); err != nil {
			return err
		}
		if reset {
			if _, err := tx.Exec("DELETE FROM import_uids WHERE folder_id = $1", id); err != nil {
				return err
			}
		}
		for rest := packed; len(rest) > 0; {
			n := min(len(rest), importPairsPerStatement)
			// Each pair is one bigint, source UID in the high half (the
			// shift is arithmetic: the mask undoes the sign). WHERE true
			// tells SQLite's parser that ON CONFLICT is not a join's ON.
			if _, err := tx.Exec(`INSERT INTO import_uids(folder_id, src_uid, uid)
				SELECT $1, (u >> 32) & 4294967295, u & 4294967295 FROM `+c.d.Ordinal(2, "bigint")+` WHERE true
				ON CONFLICT (folder_id, src_uid) DO UPDATE SET uid = excluded.uid`, id, c.d.IDs(rest[:n])); err != nil {
				return err
			}
			rest = rest[n:]
		}
		return nil
	})
}

// ImportedUIDs implements store.Store.
func (c *Core) ImportedUIDs(ctx context.Context, accountID int64, source, folder string, srcUIDs []uint32) (map[uint32]uint32, error) {
	out := make(map[uint32]uint32, len(srcUIDs))
	if len(srcUIDs) == 0 {
		return out, nil
	}
	rows, err := c.db.Query(ctx, `SELECT u.src_uid, u.uid FROM import_uids u JOIN import_folders f ON f.id = u.folder_id
		WHERE f.account_id = $1 AND f.source = $2 AND f.folder = $3 AND `+c.d.In("u.src_uid", 4),
		accountID, source, folder, c.d.UIDs(srcUIDs))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var src, dst int64
		if err := rows.Scan(&src, &dst); err != nil {
			return nil, err
		}
		out[uint32(src)] = uint32(dst)
	}
	return out, rows.Err()
}
