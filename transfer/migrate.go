package transfer

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/mailroom/mailroom/store"
)

// MigrateSource is the store mailroom migrate copies from.
type MigrateSource interface {
	store.Store
	store.Dumper
}

// MigrateTarget is the store mailroom migrate copies into.
type MigrateTarget interface {
	store.Store
	store.Loader
}

// MigrateStats counts what Migrate copied: rows per table of
// store.DumpTables.
type MigrateStats struct {
	Rows  map[string]int
	Bytes int64 // message and queue bytes
}

// migrateBuffer is how many rows may wait between the dump and the load.
const migrateBuffer = 64

// Migrate copies the whole of from into the empty store to: accounts with
// their password hashes, mailboxes with UIDVALIDITY, UIDNEXT and
// HIGHESTMODSEQ, messages with their ids, UIDs, modseqs, flags and dates,
// expunge tombstones (for QRESYNC), subscriptions, Sieve scripts and
// state, the outbound queue with its state, and the id and UIDVALIDITY
// counters. It reads one consistent snapshot of from and writes to in one
// transaction (all or nothing), streaming: at most migrateBuffer rows are
// in flight. A target that holds an account or queued mail is refused
// (store.ErrExists). progress, if set, is called after each row.
func Migrate(ctx context.Context, from MigrateSource, to MigrateTarget, progress func(MigrateStats)) (MigrateStats, error) {
	stats := MigrateStats{Rows: map[string]int{}}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	rows := make(chan store.DumpRow, migrateBuffer)
	dumpErr := make(chan error, 1)
	go func() {
		err := from.Dump(ctx, func(r store.DumpRow) error {
			select {
			case rows <- r:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
		close(rows)
		dumpErr <- err
	}()
	next := func() (store.DumpRow, bool, error) {
		r, ok := <-rows
		if !ok {
			// The dump ended: a failed dump must fail the load, before
			// it commits.
			if err := <-dumpErr; err != nil {
				dumpErr <- err
				return r, false, fmt.Errorf("reading the source: %w", err)
			}
			dumpErr <- nil
			return r, false, nil
		}
		t := store.DumpTables[r.Table]
		stats.Rows[t.Name]++
		for i, c := range t.Columns {
			if (t.Name == "blobs" && c == "raw") || (t.Name == "queue" && c == "raw") {
				if b, ok := r.Values[i].([]byte); ok {
					stats.Bytes += int64(len(b))
				}
			}
		}
		if progress != nil {
			progress(stats)
		}
		return r, true, nil
	}
	err := to.Load(ctx, next)
	cancel()
	for range rows { // let the dump goroutine end
	}
	if derr := <-dumpErr; err == nil && derr != nil && !errors.Is(derr, context.Canceled) {
		err = derr
	}
	return stats, err
}

// Fingerprint sums up a store for Verify: per account its password hash,
// mailboxes (UIDVALIDITY, UIDNEXT, HIGHESTMODSEQ, special use) and a
// SHA-256 over each mailbox's messages (UID, modseq, flags, size,
// internal date), subscriptions and Sieve scripts; the queue.
type Fingerprint struct {
	Accounts, Mailboxes, Messages, QueueItems, SieveScripts int
	Lines                                                   []string // one per account, mailbox, queue item, ...
}

// TakeFingerprint reads st's fingerprint.
func TakeFingerprint(ctx context.Context, st store.Store) (Fingerprint, error) {
	var fp Fingerprint
	add := func(format string, args ...any) { fp.Lines = append(fp.Lines, fmt.Sprintf(format, args...)) }
	accts, err := st.Accounts(ctx)
	if err != nil {
		return fp, err
	}
	for _, a := range accts {
		fp.Accounts++
		add("account %s id %d hash %s created %d", a.Email, a.ID, a.PasswordHash, a.Created.UnixNano())
		ms, err := st.Mailboxes(ctx, a.ID)
		if err != nil {
			return fp, err
		}
		for _, m := range ms {
			fp.Mailboxes++
			h := sha256.New()
			n := 0
			err := st.ListMessages(ctx, m.Ref(), nil, func(meta store.MessageMeta) error {
				n++
				var b [36]byte
				binary.BigEndian.PutUint32(b[0:], meta.UID)
				binary.BigEndian.PutUint64(b[4:], meta.ModSeq)
				binary.BigEndian.PutUint64(b[12:], uint64(meta.Size))
				binary.BigEndian.PutUint64(b[20:], uint64(meta.InternalDate.UnixNano()))
				binary.BigEndian.PutUint64(b[28:], uint64(meta.WireSize))
				h.Write(b[:])
				h.Write([]byte(strings.Join(meta.Flags, " ") + "\n"))
				return nil
			})
			if err != nil {
				return fp, fmt.Errorf("mailbox %q of %s: %w", m.Name, a.Email, err)
			}
			fp.Messages += n
			add("mailbox %s %q id %d use %q uidvalidity %d uidnext %d highestmodseq %d messages %d sha256 %x",
				a.Email, m.Name, m.ID, m.SpecialUse, m.UIDValidity, m.UIDNext, m.HighestModSeq, n, h.Sum(nil))
		}
		subs, err := st.Subscriptions(ctx, a.ID)
		if err != nil {
			return fp, err
		}
		slices.Sort(subs)
		add("subscriptions %s %q", a.Email, subs)
		scripts, err := st.SieveScripts(ctx, a.ID)
		if err != nil {
			return fp, err
		}
		for _, s := range scripts {
			fp.SieveScripts++
			full, err := st.SieveScript(ctx, a.ID, s.Name)
			if err != nil {
				return fp, err
			}
			add("sieve %s %q id %d active %v sha256 %x", a.Email, s.Name, s.ID, s.Active, sha256.Sum256(full.Source))
		}
	}
	items, err := st.QueueItems(ctx)
	if err != nil {
		return fp, err
	}
	for _, q := range items {
		fp.QueueItems++
		raw, err := st.QueueMessage(ctx, q.ID)
		if err != nil {
			return fp, err
		}
		add("queue %d from %q created %d size %d lease %q/%d rcpts %+v sha256 %x", q.ID, q.From, q.Created.UnixNano(), q.Size,
			q.LeaseOwner, q.LeaseUntil.UnixNano(), q.Recipients, sha256.Sum256(raw))
	}
	return fp, nil
}

// Verify compares the fingerprints of two stores and describes the first
// differences (at most 10), or returns nil when they are equal.
func Verify(ctx context.Context, a, b store.Store) (Fingerprint, error) {
	fa, err := TakeFingerprint(ctx, a)
	if err != nil {
		return fa, fmt.Errorf("source: %w", err)
	}
	fb, err := TakeFingerprint(ctx, b)
	if err != nil {
		return fa, fmt.Errorf("target: %w", err)
	}
	var diffs []string
	for i := 0; i < max(len(fa.Lines), len(fb.Lines)) && len(diffs) < 10; i++ {
		var la, lb string
		if i < len(fa.Lines) {
			la = fa.Lines[i]
		}
		if i < len(fb.Lines) {
			lb = fb.Lines[i]
		}
		if la != lb {
			diffs = append(diffs, fmt.Sprintf("source: %s\n  target: %s", la, lb))
		}
	}
	if len(diffs) > 0 {
		return fa, fmt.Errorf("the stores differ:\n  %s", strings.Join(diffs, "\n  "))
	}
	return fa, nil
}
