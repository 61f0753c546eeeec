package sqlite

import (
	"context"
	"time"

	"github.com/mailroom/mailroom/store"
)

// Changes committed by another process on the same database file (the
// mailroom CLI's `user delete`, `user passwd` or `import` while serve
// runs) reach no feed of this process by themselves. The writer goroutine
// asks SQLite once per externalPollInterval whether any other connection
// committed since it last looked (PRAGMA data_version on the writer's own
// pinned connection, which does not change for that connection's own
// commits; the other connections of this Store never commit) and, if so,
// wakes every watched account with a MailboxID 0 change ("anything may
// have changed"). The feed therefore covers every writer, and sessions
// need no polling reads of their own (FeedCoversOtherProcesses).

// externalPollInterval is how often the writer checks for commits by
// other processes.
const externalPollInterval = time.Second

// pollExternal runs in the writer goroutine between batches.
func (s *Store) pollExternal() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var v int64
	if err := s.w.conn.QueryRowContext(ctx, "PRAGMA data_version").Scan(&v); err != nil {
		s.logger.Warn("sqlite: data_version", "err", err)
		return
	}
	if v != s.dataVersion {
		for _, id := range s.feed.Watched() {
			s.feed.Publish(store.Change{AccountID: id})
		}
	}
	s.dataVersion = v
}

// FeedCoversOtherProcesses reports that the change feed also carries
// the commits of other processes on the same file, within about
// externalPollInterval.
func (s *Store) FeedCoversOtherProcesses() bool { return true }
