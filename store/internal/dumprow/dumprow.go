// Package dumprow holds what both backends share to dump and load a
// store (store.Dumper, store.Loader): scan targets per column type and
// the INSERT statement of a table.
package dumprow

import (
	"database/sql"
	"fmt"
	"strings"

	"github.com/mailroom/mailroom/store"
)

// Scanner holds scan targets for one row of table t.
type Scanner struct {
	types string
	ints  []int64
	texts []string
	bytes [][]byte
	nulls []sql.NullInt64
	dest  []any
}

// NewScanner returns scan targets for the columns of t.
func NewScanner(t store.DumpTable) *Scanner {
	n := len(t.Types)
	s := &Scanner{types: t.Types, ints: make([]int64, n), texts: make([]string, n), bytes: make([][]byte, n), nulls: make([]sql.NullInt64, n), dest: make([]any, n)}
	for i, c := range t.Types {
		switch c {
		case store.ColInt:
			s.dest[i] = &s.ints[i]
		case store.ColText:
			s.dest[i] = &s.texts[i]
		case store.ColNullInt:
			s.dest[i] = &s.nulls[i]
		default:
			s.dest[i] = &s.bytes[i]
		}
	}
	return s
}

// Dest is what to pass to Scan.
func (s *Scanner) Dest() []any { return s.dest }

// Values returns the row just scanned, as fresh values (bytes copied).
func (s *Scanner) Values() []any {
	out := make([]any, len(s.types))
	for i, c := range s.types {
		switch c {
		case store.ColInt:
			out[i] = s.ints[i]
		case store.ColText:
			out[i] = s.texts[i]
		case store.ColNullInt:
			if s.nulls[i].Valid {
				out[i] = s.nulls[i].Int64
			} else {
				out[i] = nil
			}
		case store.ColBytes:
			b := make([]byte, len(s.bytes[i]))
			copy(b, s.bytes[i])
			out[i] = b
		default:
			if s.bytes[i] == nil {
				out[i] = []byte(nil)
			} else {
				b := make([]byte, len(s.bytes[i]))
				copy(b, s.bytes[i])
				out[i] = b
			}
		}
	}
	return out
}

// Check checks that row fits table t (count and types).
func Check(t store.DumpTable, values []any) error {
	if len(values) != len(t.Types) {
		return fmt.Errorf("dump: %s row with %d values, want %d", t.Name, len(values), len(t.Types))
	}
	for i, c := range t.Types {
		ok := false
		switch values[i].(type) {
		case int64:
			ok = c == store.ColInt || c == store.ColNullInt
		case nil:
			ok = c == store.ColNullInt
		case string:
			ok = c == store.ColText
		case []byte:
			ok = c == store.ColBytes || c == store.ColNull
		}
		if !ok {
			return fmt.Errorf("dump: %s.%s holds %T", t.Name, t.Columns[i], values[i])
		}
	}
	return nil
}

// Insert returns "INSERT INTO t(cols) VALUES (p(1), ..., p(n))" for the
// first n columns of t; p writes the n-th placeholder.
func Insert(t store.DumpTable, n int, p func(int) string) string {
	ph := make([]string, n)
	for i := range ph {
		ph[i] = p(i + 1)
	}
	return "INSERT INTO " + t.Name + "(" + strings.Join(t.Columns[:n], ", ") + ") VALUES (" + strings.Join(ph, ", ") + ")"
}

// Select returns "SELECT cols FROM t ORDER BY <key>" (the first column,
// and the second for tables keyed by two).
func Select(t store.DumpTable) string {
	order := t.Columns[0]
	switch t.Name {
	case "subscriptions", "expunged", "queue_rcpts", "mailbox_acl":
		order += ", " + t.Columns[1]
	case "sieve_state":
		order += ", kind, key"
	case "metadata":
		order += ", mailbox_id, name"
	case "urlauth_keys":
		order += ", mailbox_id"
	}
	return "SELECT " + strings.Join(t.Columns, ", ") + " FROM " + t.Name + " ORDER BY " + order
}

// IDTables are the tables whose ids are never reused ("id:TABLE"
// counters).
var IDTables = []string{"accounts", "mailboxes", "blobs", "messages", "queue", "sieve_scripts"}
