package postgres

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mailroom/mailroom/store"
)

// listenConn opens the dedicated connection that LISTENs on s.channel.
func (s *Store) listenConn(ctx context.Context, cfg *pgx.ConnConfig) (*pgx.Conn, error) {
	conn, err := pgx.ConnectConfig(ctx, cfg.Copy())
	if err != nil {
		return nil, fmt.Errorf("postgres: listen connection: %w", err)
	}
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{s.channel}.Sanitize()); err != nil {
		conn.Close(ctx)
		return nil, fmt.Errorf("postgres: listen: %w", err)
	}
	s.listenPID.Store(conn.PgConn().PID())
	return conn, nil
}

// listen fans the notifications of other nodes out to the local feed until
// ctx ends, reconnecting when the connection is lost.
func (s *Store) listen(ctx context.Context, cfg *pgx.ConnConfig, conn *pgx.Conn) {
	defer s.listenWG.Done()
	backoff := 100 * time.Millisecond
	for {
		for conn != nil {
			n, err := conn.WaitForNotification(ctx)
			if err != nil {
				conn.Close(context.Background())
				conn = nil
				if ctx.Err() != nil {
					return
				}
				s.logger.Warn("postgres: change feed connection lost; reconnecting", "err", err)
				break
			}
			backoff = 100 * time.Millisecond
			if _, own := s.pids.Load(n.PID); own {
				continue // published locally after our commit
			}
			c, ok := parsePayload(n.Payload)
			if !ok {
				s.logger.Warn("postgres: bad change notification", "payload", n.Payload)
				continue
			}
			s.feed.Publish(c)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 10*time.Second)
		var err error
		if conn, err = s.listenConn(ctx, cfg); err != nil {
			s.logger.Warn("postgres: change feed reconnect failed", "err", err)
			continue
		}
		s.wakeAll() // notifications may have been missed while disconnected
	}
}

// wakeAll tells every watcher that anything may have changed.
func (s *Store) wakeAll() {
	s.mu.Lock()
	ids := make([]int64, 0, len(s.watched))
	for id := range s.watched {
		ids = append(ids, id)
	}
	s.mu.Unlock()
	for _, id := range ids {
		s.feed.Publish(store.Change{AccountID: id})
	}
}

// parsePayload decodes "<account>:<mailbox>".
func parsePayload(p string) (store.Change, bool) {
	a, m, ok := strings.Cut(p, ":")
	if !ok {
		return store.Change{}, false
	}
	acc, err1 := strconv.ParseInt(a, 10, 64)
	mb, err2 := strconv.ParseInt(m, 10, 64)
	if err1 != nil || err2 != nil {
		return store.Change{}, false
	}
	return store.Change{AccountID: acc, MailboxID: mb}, true
}
