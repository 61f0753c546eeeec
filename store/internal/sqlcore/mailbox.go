package sqlcore

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/mailroom/mailroom/store"
	"github.com/mailroom/mailroom/store/internal/flagset"
)

// MailboxCols are the columns ScanMailbox reads.
const MailboxCols = "id, account_id, name, special_use, uidvalidity, uidnext, highestmodseq"

// ScanMailbox reads a row of MailboxCols; no row is store.ErrNotFound.
func (c *Core) ScanMailbox(row Row) (store.Mailbox, error) {
	var m store.Mailbox
	if err := row.Scan(&m.ID, &m.AccountID, &m.Name, &m.SpecialUse, &m.UIDValidity, &m.UIDNext, &m.HighestModSeq); err != nil {
		if c.d.IsNoRows(err) {
			return m, store.ErrNotFound
		}
		return m, err
	}
	return m, nil
}

// RefWhere selects the mailbox a store.MailboxRef names ($1..$3 are
// RefArgs), only if its account owns it and (when given) its UIDVALIDITY
// matches.
const RefWhere = "id = $1 AND account_id = $2 AND (CAST($3 AS bigint) = 0 OR uidvalidity = CAST($3 AS bigint))"

// RefArgs are the arguments of RefWhere.
func RefArgs(ref store.MailboxRef) []any {
	return []any{ref.MailboxID, ref.AccountID, int64(ref.UIDValidity)}
}

// RefNotFound is the error for a MailboxRef that names no mailbox.
func RefNotFound(ref store.MailboxRef) error {
	return fmt.Errorf("%w: mailbox %d of account %d", store.ErrNotFound, ref.MailboxID, ref.AccountID)
}

// LockMailbox reads a mailbox and locks its row until the transaction
// ends: the writer that holds it is the only one to change its counters.
func (c *Core) LockMailbox(tx Tx, ref store.MailboxRef) (store.Mailbox, error) {
	m, err := c.ScanMailbox(tx.QueryRow("SELECT "+MailboxCols+" FROM mailboxes WHERE "+RefWhere+c.d.RowLock("UPDATE"), RefArgs(ref)...))
	if errors.Is(err, store.ErrNotFound) {
		err = RefNotFound(ref)
	}
	return m, err
}

// LockMailboxes locks the rows of the mailboxes ids in id order, so that
// writers that change the same mailboxes in another order cannot deadlock.
func (c *Core) LockMailboxes(tx Tx, ids []int64) error {
	lock := c.d.RowLock("UPDATE")
	if lock == "" {
		return nil
	}
	_, err := tx.Exec("SELECT id FROM mailboxes WHERE "+c.d.In("id", 1)+" ORDER BY id"+lock, c.d.IDs(ids))
	return err
}

// Allocate reserves n UIDs and n modseqs in a mailbox and returns the
// mailbox as it was before, so the new UIDs are m.UIDNext.. and the new
// modseqs m.HighestModSeq+1... The UPDATE locks the mailbox row until the
// transaction ends, so concurrent writers on any node queue up behind it.
func (c *Core) Allocate(tx Tx, ref store.MailboxRef, n int) (store.Mailbox, error) {
	m, err := c.ScanMailbox(tx.QueryRow(`UPDATE mailboxes SET uidnext = uidnext + $4, highestmodseq = highestmodseq + $4 WHERE `+RefWhere+`
		RETURNING id, account_id, name, special_use, uidvalidity, uidnext - $4, highestmodseq - $4`, append(RefArgs(ref), n)...))
	if errors.Is(err, store.ErrNotFound) {
		return m, RefNotFound(ref)
	}
	if err != nil {
		return m, err
	}
	if uint64(m.UIDNext)+uint64(n) > math.MaxUint32 {
		return m, fmt.Errorf("%w: mailbox %q has run out of UIDs", store.ErrInvalid, m.Name)
	}
	return m, nil
}

// MetaCols are the columns ScanMeta reads.
const MetaCols = "id, uid, modseq, sysflags, keywords, internal_date, tz_offset, size, wire_size"

// ScanMeta reads a row of MetaCols.
func ScanMeta(row Row) (store.MessageMeta, error) {
	var m store.MessageMeta
	// Scan into int64 only: database/sql converts into uint32/uint64
	// through reflection and a decimal string, per row.
	var uid, modseq, sys, date, tz int64
	var kw string
	if err := row.Scan(&m.ID, &uid, &modseq, &sys, &kw, &date, &tz, &m.Size, &m.WireSize); err != nil {
		return m, err
	}
	m.UID, m.ModSeq = uint32(uid), uint64(modseq)
	m.Flags = flagset.Decode(sys, kw)
	m.InternalDate = DecodeTime(date, tz)
	return m, nil
}

// EncodeTime stores t as unix nanoseconds plus its zone offset, so that
// INTERNALDATE comes back in the zone it was given in.
func EncodeTime(t time.Time) (nano int64, offset int64) {
	_, off := t.Zone()
	return t.UnixNano(), int64(off)
}

// DecodeTime is the inverse of EncodeTime.
func DecodeTime(nano, offset int64) time.Time {
	return time.Unix(0, nano).In(time.FixedZone("", int(offset)))
}

// Collect reads every row of rows with scan.
func Collect[T any](rows Rows, scan func(Row) (T, error)) ([]T, error) {
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// CollectUIDs reads a one-column result of UIDs.
func CollectUIDs(rows Rows) ([]uint32, error) {
	return Collect(rows, func(r Row) (uint32, error) {
		var u int64
		err := r.Scan(&u)
		return uint32(u), err
	})
}
