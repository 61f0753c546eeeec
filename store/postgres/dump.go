package postgres

import (
	"context"
	"fmt"
	"slices"
	"strconv"

	"github.com/jackc/pgx/v5"

	"github.com/mailroom/mailroom/store"
	"github.com/mailroom/mailroom/store/internal/dircache"
	"github.com/mailroom/mailroom/store/internal/dumprow"
)

var (
	_ store.Dumper = (*Store)(nil)
	_ store.Loader = (*Store)(nil)
)

// Dump implements store.Dumper: one REPEATABLE READ, read-only
// transaction (one snapshot for every table).
func (s *Store) Dump(ctx context.Context, fn func(store.DumpRow) error) error {
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return err
	}
	defer tx.Rollback(context.Background())
	for ti, t := range store.DumpTables {
		if t.Name == "counters" {
			rows, err := dumpCounters(ctx, tx)
			if err != nil {
				return fmt.Errorf("postgres: dump counters: %w", err)
			}
			for _, r := range rows {
				if err := fn(store.DumpRow{Table: ti, Values: r}); err != nil {
					return err
				}
			}
			continue
		}
		if err := dumpQuery(ctx, tx, t, ti, fn); err != nil {
			return fmt.Errorf("postgres: dump %s: %w", t.Name, err)
		}
	}
	return nil
}

func dumpQuery(ctx context.Context, tx pgx.Tx, t store.DumpTable, ti int, fn func(store.DumpRow) error) error {
	rows, err := tx.Query(ctx, dumprow.Select(t))
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

// lastValue is the last value a sequence handed out (0 for none).
func lastValue(ctx context.Context, tx pgx.Tx, seq string) (int64, error) {
	var v int64
	var called bool
	if err := tx.QueryRow(ctx, "SELECT last_value, is_called FROM "+seq).Scan(&v, &called); err != nil {
		return 0, err
	}
	if !called {
		v--
	}
	return v, nil
}

func idSequence(ctx context.Context, q interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}, table string) (string, error) {
	var seq string
	err := q.QueryRow(ctx, "SELECT pg_get_serial_sequence($1, 'id')", table).Scan(&seq)
	return seq, err
}

func dumpCounters(ctx context.Context, tx pgx.Tx) ([][]any, error) {
	v, err := lastValue(ctx, tx, "uidvalidity_seq")
	if err != nil {
		return nil, err
	}
	out := [][]any{{"uidvalidity", v}}
	for _, table := range sortedIDTables() {
		seq, err := idSequence(ctx, tx, table)
		if err != nil {
			return nil, err
		}
		if v, err = lastValue(ctx, tx, seq); err != nil {
			return nil, err
		}
		out = append(out, []any{"id:" + table, v})
	}
	return out, nil
}

func sortedIDTables() []string {
	t := slices.Clone(dumprow.IDTables)
	slices.Sort(t)
	return t
}

// Load implements store.Loader, in one transaction.
func (s *Store) Load(ctx context.Context, next func() (store.DumpRow, bool, error)) error {
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.Serializable})
	if err != nil {
		return err
	}
	defer tx.Rollback(context.Background())
	var n int64
	if err := tx.QueryRow(ctx, "SELECT (SELECT count(*) FROM accounts) + (SELECT count(*) FROM queue)").Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return fmt.Errorf("%w: the target store is not empty", store.ErrExists)
	}
	counters := map[string]int64{}
	q := func(i int) string { return "$" + strconv.Itoa(i) }
	for {
		row, ok, err := next()
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		if row.Table < 0 || row.Table >= len(store.DumpTables) {
			return fmt.Errorf("postgres: load: table %d", row.Table)
		}
		t := store.DumpTables[row.Table]
		if err := dumprow.Check(t, row.Values); err != nil {
			return err
		}
		if t.Name == "counters" {
			counters[row.Values[0].(string)] = row.Values[1].(int64)
			continue
		}
		if _, err := tx.Exec(ctx, dumprow.Insert(t, len(t.Columns), q), row.Values...); err != nil {
			return fmt.Errorf("postgres: load %s: %w", t.Name, err)
		}
	}
	// The sequences go on after the largest value seen here or there.
	if v := counters["uidvalidity"]; v > 0 {
		if _, err := tx.Exec(ctx, "SELECT setval('uidvalidity_seq', greatest($1::bigint, (SELECT last_value FROM uidvalidity_seq)))", v); err != nil {
			return err
		}
	}
	for _, table := range dumprow.IDTables {
		seq, err := idSequence(ctx, tx, table)
		if err != nil {
			return err
		}
		if seq == "" {
			return fmt.Errorf("postgres: no id sequence for %s", table)
		}
		if _, err := tx.Exec(ctx, "SELECT setval($1::regclass, m) FROM (SELECT greatest($2::bigint, (SELECT coalesce(max(id), 0) FROM "+table+")) AS m) x WHERE m > 0",
			seq, counters["id:"+table]); err != nil {
			return err
		}
	}
	// The dump has no full-text index: the loaded messages are searched
	// by reading them until "mailroom reindex" indexes them.
	if _, err := tx.Exec(ctx, "UPDATE text_index_state SET unindexed_below = (SELECT coalesce(max(id), 0) + 1 FROM blobs)"); err != nil {
		return err
	}
	// Every node's directory cache may hold "not found" for what is
	// loaded here.
	if err := s.notify(ctx, tx, nil, []dircache.Key{dircache.All}); err != nil {
		return err
	}
	defer s.dir.Invalidate(dircache.All)
	return tx.Commit(ctx)
}
