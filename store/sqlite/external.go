package sqlite

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"github.com/mailroom/mailroom/store"
)

// externalPollInterval is how often a watched store looks for accounts
// deleted by another process on the same file (mailroom user delete
// beside serve): those commits reach no feed of this process.
const externalPollInterval = time.Second

// maxPollIDs bounds the account ids one existence query names.
const maxPollIDs = 500

// startExternalPoll starts, once, the goroutine that wakes the watchers
// of accounts that another process deleted: when PRAGMA data_version says
// another connection committed, it asks which watched accounts still
// exist and publishes a mailbox-list change (MailboxID 0) for each one
// that does not, so its sessions end as they do for a deletion in this
// process.
func (s *Store) startExternalPoll() {
	s.pollOnce.Do(func() {
		select {
		case <-s.quit:
			return // closed
		default:
		}
		db, err := sql.Open("sqlite", dsn(s.path, true))
		if err != nil {
			s.logger.Warn("sqlite: cannot watch for other processes' deletions", "err", err)
			return
		}
		db.SetMaxOpenConns(1) // data_version is per connection
		s.writerWG.Add(1)
		go func() {
			defer s.writerWG.Done()
			defer db.Close()
			s.pollExternal(db)
		}()
	})
}

func (s *Store) pollExternal(db *sql.DB) {
	t := time.NewTicker(externalPollInterval)
	defer t.Stop()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-s.quit
		cancel()
	}()
	var last int64 = -1
	for {
		select {
		case <-s.quit:
			return
		case <-t.C:
		}
		var v int64
		if err := db.QueryRowContext(ctx, "PRAGMA data_version").Scan(&v); err != nil {
			if ctx.Err() == nil {
				s.logger.Warn("sqlite: data_version", "err", err)
			}
			continue
		}
		if v == last {
			continue
		}
		last = v
		ids := s.feed.Watched()
		for len(ids) > 0 {
			n := min(len(ids), maxPollIDs)
			gone, err := missingAccounts(ctx, db, ids[:n])
			if err != nil {
				if ctx.Err() == nil {
					s.logger.Warn("sqlite: account check", "err", err)
				}
				break
			}
			for _, id := range gone {
				s.feed.Publish(store.Change{AccountID: id})
			}
			ids = ids[n:]
		}
	}
}

// missingAccounts returns the ids that name no account.
func missingAccounts(ctx context.Context, db *sql.DB, ids []int64) ([]int64, error) {
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	rows, err := db.QueryContext(ctx, "SELECT id FROM accounts WHERE id IN (?"+strings.Repeat(",?", len(ids)-1)+")", args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	exists := map[int64]bool{}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		exists[id] = true
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var gone []int64
	for _, id := range ids {
		if !exists[id] {
			gone = append(gone, id)
		}
	}
	return gone, nil
}
