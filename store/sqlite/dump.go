package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"strings"

	"github.com/mailroom/mailroom/store"
	"github.com/mailroom/mailroom/store/internal/dumprow"
)

var (
	_ store.Dumper = (*Store)(nil)
	_ store.Loader = (*Store)(nil)
)

// Dump implements store.Dumper: one read transaction (a WAL snapshot).
func (s *Store) Dump(ctx context.Context, fn func(store.DumpRow) error) error {
	tx, err := s.rdb.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for ti, t := range store.DumpTables {
		if t.Name == "counters" {
			rows, err := dumpCounters(ctx, tx)
			if err != nil {
				return err
			}
			for _, r := range rows {
				if err := fn(store.DumpRow{Table: ti, Values: r}); err != nil {
					return err
				}
			}
			continue
		}
		q := dumprow.Select(t)
		if t.Name == "blobs" { // the header lives in a table of its own
			q = "SELECT b.id, b.raw, b.part, b.size, h.header FROM blobs b LEFT JOIN headers h ON h.blob_id = b.id ORDER BY b.id"
		}
		if err := dumpQuery(ctx, tx, t, ti, q, fn); err != nil {
			return fmt.Errorf("sqlite: dump %s: %w", t.Name, err)
		}
	}
	return nil
}

func dumpQuery(ctx context.Context, tx *sql.Tx, t store.DumpTable, ti int, q string, fn func(store.DumpRow) error) error {
	rows, err := tx.QueryContext(ctx, q)
	if err != nil {
		return err
	}
	defer rows.Close()
	sc := dumprow.NewScanner(t)
	for rows.Next() {
		if err := rows.Scan(sc.Dest()...); err != nil {
			return err
		}
		if err := fn(store.DumpRow{Table: ti, Values: sc.Values()}); err != nil {
			return err
		}
	}
	return rows.Err()
}

func dumpCounters(ctx context.Context, tx *sql.Tx) ([][]any, error) {
	var out [][]any
	var v int64
	if err := tx.QueryRowContext(ctx, "SELECT value FROM settings WHERE key = 'uidvalidity'").Scan(&v); err != nil {
		return nil, err
	}
	out = append(out, []any{"uidvalidity", v})
	seqs := map[string]int64{}
	rows, err := tx.QueryContext(ctx, "SELECT name, seq FROM sqlite_sequence")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var name string
		var seq int64
		if err := rows.Scan(&name, &seq); err != nil {
			return nil, err
		}
		seqs[name] = seq
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	// blobs has no AUTOINCREMENT: its counter is its largest id.
	if err := tx.QueryRowContext(ctx, "SELECT coalesce(max(id), 0) FROM blobs").Scan(&v); err != nil {
		return nil, err
	}
	seqs["blobs"] = v
	names := make([]string, 0, len(seqs))
	for n := range seqs {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		out = append(out, []any{"id:" + n, seqs[n]})
	}
	return out, nil
}

// Load implements store.Loader, in one write transaction.
func (s *Store) Load(ctx context.Context, next func() (store.DumpRow, bool, error)) error {
	return s.write(ctx, func(tx *wtx) error {
		var n int64
		if err := tx.queryRow("SELECT (SELECT count(*) FROM accounts) + (SELECT count(*) FROM queue)").Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("%w: the target store is not empty", store.ErrExists)
		}
		for {
			if err := ctx.Err(); err != nil {
				return err
			}
			row, ok, err := next()
			if err != nil {
				return err
			}
			if !ok {
				// The dump has no full-text index: the loaded messages
				// are searched by reading them until "mailroom reindex"
				// indexes them.
				_, err := tx.exec("UPDATE text_index_state SET unindexed_below = (SELECT coalesce(max(id), 0) + 1 FROM blobs)")
				return err
			}
			if row.Table < 0 || row.Table >= len(store.DumpTables) {
				return fmt.Errorf("sqlite: load: table %d", row.Table)
			}
			t := store.DumpTables[row.Table]
			if err := dumprow.Check(t, row.Values); err != nil {
				return err
			}
			if err := loadRow(tx, t, row.Values); err != nil {
				return fmt.Errorf("sqlite: load %s: %w", t.Name, err)
			}
		}
	})
}

func loadRow(tx *wtx, t store.DumpTable, v []any) error {
	q := func(int) string { return "?" }
	switch t.Name {
	case "counters":
		name, val := v[0].(string), v[1].(int64)
		if name == "uidvalidity" {
			_, err := tx.exec("UPDATE settings SET value = max(value, ?) WHERE key = 'uidvalidity'", val)
			return err
		}
		table, ok := strings.CutPrefix(name, "id:")
		if !ok || table == "blobs" { // blobs: its ids are its own
			return nil
		}
		if _, err := tx.exec("UPDATE sqlite_sequence SET seq = max(seq, ?) WHERE name = ?", val, table); err != nil {
			return err
		}
		_, err := tx.exec("INSERT INTO sqlite_sequence(name, seq) SELECT ?, ? WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = ?)", table, val, table)
		return err
	case "blobs":
		if _, err := tx.exec(dumprow.Insert(t, 4, q), v[:4]...); err != nil {
			return err
		}
		if h := v[4].([]byte); h != nil {
			_, err := tx.exec("INSERT INTO headers(blob_id, header) VALUES (?, ?)", v[0], h)
			return err
		}
		return nil
	}
	_, err := tx.exec(dumprow.Insert(t, len(t.Columns), q), v...)
	return err
}
