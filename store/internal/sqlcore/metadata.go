package sqlcore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/mailroom/mailroom/store"
)

// checkMetadataMailbox: mailboxID 0 (the server entries) or a mailbox of
// the account; ErrNotFound otherwise.
func checkMetadataMailbox(q func(string, ...any) Row, accountID, mailboxID int64) error {
	if mailboxID == 0 {
		return nil
	}
	var n int
	if err := q(countMailbox, mailboxID, accountID).Scan(&n); err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("%w: mailbox %d", store.ErrNotFound, mailboxID)
	}
	return nil
}

const countMailbox = "SELECT count(*) FROM mailboxes WHERE id = $1 AND account_id = $2"

// GetMetadata implements store.Store.
func (c *Core) GetMetadata(ctx context.Context, accountID, mailboxID int64, names []string, depth int) ([]store.MetadataEntry, error) {
	var out []store.MetadataEntry
	err := c.db.Snapshot(ctx, func(r Reader) error {
		out = out[:0]
		if err := checkMetadataMailbox(r.QueryRow, accountID, mailboxID); err != nil {
			return err
		}
		seen := map[string]bool{}
		for _, name := range names {
			// Entries under name sort between name+"/" and name+"0"
			// ('0' follows '/' in ASCII).
			rows, err := r.Query("SELECT name, value FROM metadata WHERE account_id = $1 AND mailbox_id = $2 AND (name = $3 OR (CAST($4 AS bigint) <> 0 AND name >= $5 AND name < $6)) ORDER BY name",
				accountID, mailboxID, name, int64(depth), name+"/", name+"0")
			if err != nil {
				return err
			}
			for rows.Next() {
				var e store.MetadataEntry
				if err := rows.Scan(&e.Name, &e.Value); err != nil {
					rows.Close()
					return err
				}
				if depth > 0 && e.Name != name && strings.Count(e.Name[len(name)+1:], "/")+1 > depth {
					continue
				}
				if !seen[e.Name] {
					seen[e.Name] = true
					if e.Value == nil {
						e.Value = []byte{}
					}
					out = append(out, e)
				}
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
		}
		return nil
	})
	slices.SortFunc(out, func(a, b store.MetadataEntry) int { return strings.Compare(a.Name, b.Name) })
	return out, err
}

// SetMetadata implements store.Store.
func (c *Core) SetMetadata(ctx context.Context, accountID, mailboxID int64, entries []store.MetadataEntry, maxEntries int) error {
	return c.write(ctx, func(tx Tx) error {
		if err := c.lockAccount(tx, accountID); err != nil {
			return err
		}
		if err := checkMetadataMailbox(tx.QueryRow, accountID, mailboxID); err != nil {
			return err
		}
		for _, e := range entries {
			if _, err := tx.Exec("DELETE FROM metadata WHERE account_id = $1 AND mailbox_id = $2 AND name = $3", accountID, mailboxID, e.Name); err != nil {
				return err
			}
			if e.Value != nil {
				if _, err := tx.Exec("INSERT INTO metadata(account_id, mailbox_id, name, value) VALUES ($1, $2, $3, $4)", accountID, mailboxID, e.Name, e.Value); err != nil {
					return err
				}
			}
		}
		var n int
		if err := tx.QueryRow("SELECT count(*) FROM metadata WHERE account_id = $1", accountID).Scan(&n); err != nil {
			return err
		}
		if n > maxEntries {
			return fmt.Errorf("%w: %d entries, at most %d", store.ErrTooManyMetadata, n, maxEntries)
		}
		names := make([]string, 0, len(entries))
		for _, e := range entries {
			if !slices.Contains(names, e.Name) {
				names = append(names, e.Name)
			}
		}
		if len(names) > 0 {
			tx.PublishMetadata(accountID, mailboxID, names)
		}
		return nil
	})
}

// URLAuthKey implements store.Store.
func (c *Core) URLAuthKey(ctx context.Context, ref store.MailboxRef, newKey []byte) ([]byte, error) {
	get := func(r Row) ([]byte, error) {
		var key []byte
		err := r.Scan(&key)
		if c.d.IsNoRows(err) {
			return nil, fmt.Errorf("%w: urlauth key", store.ErrNotFound)
		}
		return key, err
	}
	const sel = "SELECT key FROM urlauth_keys WHERE account_id = $2 AND mailbox_id = $1 AND mailbox_id IN (SELECT id FROM mailboxes WHERE " + RefWhere + ")"
	if newKey == nil {
		return get(c.db.QueryRow(ctx, sel, RefArgs(ref)...))
	}
	if len(newKey) != store.URLAuthKeySize {
		return nil, fmt.Errorf("%w: urlauth key of %d bytes", store.ErrInvalid, len(newKey))
	}
	var key []byte
	err := c.write(ctx, func(tx Tx) error {
		if _, err := c.LockMailbox(tx, ref); err != nil {
			return err
		}
		var err error
		key, err = get(tx.QueryRow(sel, RefArgs(ref)...))
		if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		_, err = tx.Exec("INSERT INTO urlauth_keys(account_id, mailbox_id, key) VALUES ($1, $2, $3)", ref.AccountID, ref.MailboxID, newKey)
		key = newKey
		return err
	})
	return key, err
}

// DeleteURLAuthKeys implements store.Store.
func (c *Core) DeleteURLAuthKeys(ctx context.Context, accountID, mailboxID int64) error {
	return c.write(ctx, func(tx Tx) error {
		if err := c.lockAccount(tx, accountID); err != nil {
			return err
		}
		if mailboxID == 0 {
			_, err := tx.Exec("DELETE FROM urlauth_keys WHERE account_id = $1", accountID)
			return err
		}
		if err := checkMetadataMailbox(tx.QueryRow, accountID, mailboxID); err != nil {
			return err
		}
		_, err := tx.Exec("DELETE FROM urlauth_keys WHERE account_id = $1 AND mailbox_id = $2", accountID, mailboxID)
		return err
	})
}

// deleteMailboxAnnotations removes what hangs off a deleted mailbox.
func deleteMailboxAnnotations(tx Tx, accountID, mailboxID int64) error {
	if _, err := tx.Exec("DELETE FROM metadata WHERE account_id = $1 AND mailbox_id = $2", accountID, mailboxID); err != nil {
		return err
	}
	_, err := tx.Exec("DELETE FROM urlauth_keys WHERE account_id = $1 AND mailbox_id = $2", accountID, mailboxID)
	return err
}
