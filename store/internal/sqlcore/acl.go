package sqlcore

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/mailroom/mailroom/store"
)

// MailboxACL implements store.ACLs.
func (c *Core) MailboxACL(ctx context.Context, ref store.MailboxRef) ([]store.ACLEntry, error) {
	var out []store.ACLEntry
	err := c.db.Snapshot(ctx, func(r Reader) error {
		out = nil
		var id int64
		if err := r.QueryRow("SELECT id FROM mailboxes WHERE "+RefWhere, RefArgs(ref)...).Scan(&id); err != nil {
			if c.d.IsNoRows(err) {
				return RefNotFound(ref)
			}
			return err
		}
		rows, err := r.Query("SELECT identifier, rights FROM mailbox_acl WHERE mailbox_id = $1 ORDER BY identifier", ref.MailboxID)
		if err != nil {
			return err
		}
		out, err = Collect(rows, func(row Row) (store.ACLEntry, error) {
			var e store.ACLEntry
			err := row.Scan(&e.Identifier, &e.Rights)
			return e, err
		})
		return err
	})
	return out, err
}

// SetMailboxACL implements store.ACLs: under the mailbox's row lock, so
// that the bound on entries holds across nodes.
func (c *Core) SetMailboxACL(ctx context.Context, ref store.MailboxRef, identifier, rights string) error {
	identifier, err := store.CheckACLIdentifier(identifier)
	if err != nil {
		return err
	}
	var mod byte
	if rights != "" && (rights[0] == '+' || rights[0] == '-') {
		mod, rights = rights[0], rights[1:]
	}
	if rights, err = store.CanonicalRights(rights); err != nil {
		return err
	}
	given := rights
	return c.write(ctx, func(tx Tx) error {
		rights := given // the function may run again (PostgreSQL retries)
		if _, err := c.LockMailbox(tx, ref); err != nil {
			return err
		}
		var owner string
		if err := tx.QueryRow("SELECT email FROM accounts WHERE id = $1", ref.AccountID).Scan(&owner); err != nil {
			return err
		}
		if identifier == owner {
			return fmt.Errorf("%w: the owner's rights are implicit", store.ErrInvalid)
		}
		if mod != 0 {
			var cur string
			err := tx.QueryRow("SELECT rights FROM mailbox_acl WHERE mailbox_id = $1 AND identifier = $2", ref.MailboxID, identifier).Scan(&cur)
			if err != nil && !c.d.IsNoRows(err) {
				return err
			}
			if mod == '+' {
				cur += rights
			} else {
				cur = strings.Map(func(r rune) rune {
					if strings.ContainsRune(rights, r) {
						return -1
					}
					return r
				}, cur)
			}
			if rights, err = store.CanonicalRights(cur); err != nil {
				return err
			}
		}
		if rights == "" {
			_, err := tx.Exec("DELETE FROM mailbox_acl WHERE mailbox_id = $1 AND identifier = $2", ref.MailboxID, identifier)
			return err
		}
		var n int
		if err := tx.QueryRow("SELECT count(*) FROM mailbox_acl WHERE mailbox_id = $1 AND identifier <> $2", ref.MailboxID, identifier).Scan(&n); err != nil {
			return err
		}
		if n >= store.MaxACLEntries {
			return fmt.Errorf("%w: at most %d ACL entries per mailbox", store.ErrInvalid, store.MaxACLEntries)
		}
		_, err := tx.Exec(`INSERT INTO mailbox_acl(mailbox_id, identifier, rights) VALUES ($1, $2, $3)
			ON CONFLICT (mailbox_id, identifier) DO UPDATE SET rights = excluded.rights`, ref.MailboxID, identifier, rights)
		return err
	})
}

// MailboxRights implements store.ACLs: one statement against the current
// ACL, so a revoked right is gone for the very next call.
func (c *Core) MailboxRights(ctx context.Context, viewerID int64, ref store.MailboxRef) (string, error) {
	if viewerID == ref.AccountID {
		var id int64
		err := c.db.QueryRow(ctx, "SELECT id FROM mailboxes WHERE "+RefWhere, RefArgs(ref)...).Scan(&id)
		if c.d.IsNoRows(err) {
			return "", RefNotFound(ref)
		}
		if err != nil {
			return "", err
		}
		return store.AllRights, nil
	}
	rows, err := c.db.Query(ctx, `SELECT a.rights FROM mailbox_acl a JOIN mailboxes m ON m.id = a.mailbox_id
		WHERE m.id = $1 AND m.account_id = $2 AND (CAST($3 AS bigint) = 0 OR m.uidvalidity = CAST($3 AS bigint))
		AND `+viewerEntries("a", "$4"),
		append(RefArgs(ref), viewerID)...)
	if err != nil {
		return "", err
	}
	parts, err := Collect(rows, func(r Row) (string, error) {
		var s string
		err := r.Scan(&s)
		return s, err
	})
	if err != nil {
		return "", err
	}
	var all string
	for _, p := range parts {
		all += p
	}
	rights, err := store.CanonicalRights(all)
	if err != nil {
		return "", errors.Join(errServerBugRights, err)
	}
	if rights == "" {
		return "", RefNotFound(ref)
	}
	return rights, nil
}

// viewerEntries is the condition on mailbox_acl alias that selects the
// entries applying to the account whose id is parameter p: its email,
// "anyone" and "authenticated" (store.ACLs.MailboxRights).
func viewerEntries(alias, p string) string {
	return alias + `.identifier IN ('` + store.IdentifierAnyone + `', '` + store.IdentifierAuthenticated + `', (SELECT email FROM accounts WHERE id = ` + p + `))`
}

// sharedEntries is how many ACL entries apply to one viewer on one
// mailbox: its address's, "anyone"'s and "authenticated"'s.
const sharedEntries = 3

// SharedMailboxes implements store.ACLs: the entries that apply to the
// viewer on other accounts' mailboxes, merged per mailbox like
// MailboxRights merges them, in one snapshot of a bounded number of
// rows. When there are more than MaxSharedMailboxes, those granted to
// the viewer's address come before those granted to "anyone" or
// "authenticated", and the owners take turns: any account may grant on
// thousands of its mailboxes, which must not hide the ones other
// owners share (nor make every LIST read them all).
func (c *Core) SharedMailboxes(ctx context.Context, viewerID int64) ([]store.SharedMailbox, error) {
	const maxRows = sharedEntries * store.MaxSharedMailboxes
	var out []store.SharedMailbox
	err := c.db.Snapshot(ctx, func(r Reader) error {
		out = nil
		// At most sharedEntries rows apply to the viewer per mailbox, so
		// the first maxRows rows hold the first MaxSharedMailboxes
		// mailboxes whole. Only mailboxes with "l" in some entry; those
		// granted to the viewer's address first, then the others; within
		// each, the owners take turns (each one's first mailbox, then
		// each one's second, ...).
		rows, err := r.Query(`WITH listed AS (
				SELECT DISTINCT l.mailbox_id AS id FROM mailbox_acl l WHERE `+viewerEntries("l", "$1")+` AND l.rights LIKE '%l%'
			), ranked AS (
				SELECT m.id, m.account_id, m.name, m.special_use, m.uidvalidity, m.uidnext, m.highestmodseq,
					CASE WHEN EXISTS (SELECT 1 FROM mailbox_acl d WHERE d.mailbox_id = m.id
						AND d.identifier = (SELECT email FROM accounts WHERE id = $1)) THEN 0 ELSE 1 END AS indirect
				FROM listed JOIN mailboxes m ON m.id = listed.id WHERE m.account_id <> $1
			), turns AS (
				SELECT ranked.*, ROW_NUMBER() OVER (PARTITION BY indirect, account_id ORDER BY name) AS turn FROM ranked
			)
			SELECT x.id, x.account_id, x.name, x.special_use, x.uidvalidity, x.uidnext, x.highestmodseq, o.email, a.rights
			FROM turns x JOIN accounts o ON o.id = x.account_id JOIN mailbox_acl a ON a.mailbox_id = x.id AND `+viewerEntries("a", "$1")+`
			ORDER BY x.indirect, x.turn, o.email, x.name
			LIMIT `+strconv.Itoa(maxRows), viewerID)
		if err != nil {
			return err
		}
		all, err := Collect(rows, func(row Row) (store.SharedMailbox, error) {
			var s store.SharedMailbox
			m := &s.Mailbox
			err := row.Scan(&m.ID, &m.AccountID, &m.Name, &m.SpecialUse, &m.UIDValidity, &m.UIDNext, &m.HighestModSeq, &s.Owner, &s.Rights)
			return s, err
		})
		if err != nil {
			return err
		}
		for _, s := range all { // rows of one mailbox are adjacent
			if n := len(out); n > 0 && out[n-1].Mailbox.ID == s.Mailbox.ID {
				out[n-1].Rights += s.Rights
				continue
			}
			out = append(out, s)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	kept := out[:0]
	for _, s := range out {
		rights, err := store.CanonicalRights(s.Rights)
		if err != nil {
			return nil, errors.Join(errServerBugRights, err)
		}
		if !store.HasRights(rights, "l") {
			continue
		}
		s.Rights = rights
		if kept = append(kept, s); len(kept) == store.MaxSharedMailboxes {
			break
		}
	}
	slices.SortFunc(kept, func(a, b store.SharedMailbox) int {
		return cmp.Or(strings.Compare(a.Owner, b.Owner), strings.Compare(a.Mailbox.Name, b.Mailbox.Name))
	})
	return kept, nil
}

// errServerBugRights reports a stored rights string CanonicalRights
// refuses: only SetMailboxACL writes them, canonical.
var errServerBugRights = errors.New("sqlcore: invalid stored rights")
