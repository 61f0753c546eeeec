package postgres

import (
	"errors"

	"github.com/jackc/pgx/v5"
)

// A batch's one-statement writes (sqlcore.Statement: a delivery to one
// mailbox) that follow each other are sent in one round trip, each after
// its savepoint, and their rows read in order; a batch of n deliveries is
// then one round trip and the COMMIT, not n and the COMMIT. The server
// runs them in order and, after a statement that fails, skips the rest
// up to the pipeline's end: the failed one is rolled back to its
// savepoint, as a write that failed alone, and the ones it skipped are
// sent again in the next round trip.

// pipeline runs the statement jobs from..to-1 of the batch. It returns
// false if the batch ended (and was answered).
func (r *batchRun) pipeline(from, to int) bool {
	for from < to {
		b := &pgx.Batch{}
		var queued []int // the jobs sent, each after len(prefix) statements
		var prefixes []int
		for i := from; i < to; i++ {
			if err := r.batch[i].ctx.Err(); err != nil {
				r.results[i].err = err
				continue
			}
			p := r.prefix()
			for _, q := range p {
				b.Queue(q)
			}
			st := r.batch[i].stmt
			b.Queue(st.Query, st.Args...)
			r.sentPrefix()
			queued = append(queued, i)
			prefixes = append(prefixes, len(p))
		}
		if len(queued) == 0 {
			return true
		}
		br := r.c.SendBatch(r.ctx, b)
		from = to
		redo := false // a statement failed: send the rest again
		for k, i := range queued {
			tx := r.txs[i]
			if err := tx.readPrefix(br, prefixes[k]); err != nil {
				r.fail(err, true)
				return false
			}
			row := &pipelinedRow{row: br.QueryRow()}
			err := r.batch[i].stmt.Done(tx, row)
			if err == nil {
				r.ran = append(r.ran, tx.Changes...)
				continue
			}
			if row.err == nil {
				// The statement wrote, and the ones after it ran
				// in the savepoints that released its own: it
				// cannot be undone alone. Rare (a mailbox out of
				// UIDs): the others run again alone.
				br.Close()
				r.results[i] = jobResult{err: err}
				r.fail(err, true)
				return false
			}
			if errors.Is(row.err, pgx.ErrNoRows) {
				// Nothing written: the batch goes on.
				r.results[i] = jobResult{err: err}
				continue
			}
			// The statement failed and the server skipped the rest:
			// roll it back and send the rest again.
			br.Close()
			if !r.failed(i, err, true) {
				return false
			}
			from, redo = i+1, true
			break
		}
		if !redo {
			if err := br.Close(); err != nil {
				r.fail(err, true)
				return false
			}
		}
	}
	return true
}

// pipelinedRow is a row of a pipeline; it keeps the error of its Scan.
type pipelinedRow struct {
	row pgx.Row
	err error
}

func (r *pipelinedRow) Scan(dest ...any) error {
	r.err = r.row.Scan(dest...)
	return r.err
}
