package postgres

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mailroom/mailroom/store"
	"github.com/mailroom/mailroom/store/internal/dircache"
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

// Reconnect delays of the LISTEN connection: the first retry after
// listenRetryMin, doubling up to listenRetryMax, each with jitter. The cap
// is low because every second without LISTEN is a second of lag for IDLE
// sessions on this node (with 10 s, a 6 s outage left IDLE up to 5 s
// behind); one connection attempt a second is cheap for the server.
const (
	listenRetryMin = 100 * time.Millisecond
	listenRetryMax = time.Second
)

// retryDelay is backoff with ±25% jitter, so that the nodes that lost
// the database together do not all reconnect in the same instant.
func retryDelay(backoff time.Duration) time.Duration {
	return backoff - backoff/4 + rand.N(backoff/2+1)
}

// listen fans the notifications of other nodes out to the local feed and
// the directory cache until ctx ends, reconnecting when the connection is
// lost. After a reconnect every watcher is woken so that every open
// session re-syncs: the notifications sent while the connection was down
// are lost. For the same reason the directory cache is emptied and keeps
// nothing from the loss until the connection listens again.
func (s *Store) listen(ctx context.Context, cfg *pgx.ConnConfig, conn *pgx.Conn) {
	defer s.listenWG.Done()
	backoff := listenRetryMin
	for {
		for conn != nil {
			n, err := conn.WaitForNotification(ctx)
			if err != nil {
				s.dir.Disable()
				conn.Close(context.Background())
				conn = nil
				if ctx.Err() != nil {
					return
				}
				s.logger.Warn("postgres: change feed connection lost; reconnecting", "err", err)
				break
			}
			if _, own := s.pids.Load(n.PID); own {
				continue // published locally after our commit
			}
			if k, isDir, ok := parseDirPayload(n.Payload); isDir {
				if !ok {
					// A kind this node does not know: drop everything.
					s.logger.Warn("postgres: bad directory notification", "payload", n.Payload)
					k = dircache.All
				}
				s.dir.Invalidate(k)
				continue
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
		case <-time.After(retryDelay(backoff)):
		}
		var err error
		if conn, err = s.listenConn(ctx, cfg); err != nil {
			backoff = min(2*backoff, listenRetryMax)
			s.logger.Warn("postgres: change feed reconnect failed", "err", err, "retry_in", backoff)
			continue
		}
		backoff = listenRetryMin
		s.dir.Enable() // empty: changes may have been missed
		s.logger.Info("postgres: change feed reconnected; waking every session to re-sync")
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

// maxPayload bounds a notification's payload below PostgreSQL's 8,000
// bytes; a metadata change whose entry names need more is sent in parts.
const maxPayload = 7000

// changePayloads encodes c as "<account>:<mailbox>" or, for a metadata
// change, "<account>:<mailbox>:m:<entry> <entry>..." (entry names have
// no spaces), split so that each payload stays within maxPayload.
func changePayloads(c store.Change) []string {
	head := strconv.FormatInt(c.AccountID, 10) + ":" + strconv.FormatInt(c.MailboxID, 10)
	if c.Metadata == nil {
		return []string{head}
	}
	var out []string
	p := head + ":m:"
	names := 0
	for _, n := range c.Metadata {
		if names > 0 && len(p)+1+len(n) > maxPayload {
			out = append(out, p)
			p, names = head+":m:", 0
		}
		if names > 0 {
			p += " "
		}
		p += n
		names++
	}
	return append(out, p)
}

// parsePayload decodes what changePayloads encodes.
func parsePayload(p string) (store.Change, bool) {
	a, rest, ok := strings.Cut(p, ":")
	if !ok {
		return store.Change{}, false
	}
	m, meta, isMeta := strings.Cut(rest, ":m:")
	acc, err1 := strconv.ParseInt(a, 10, 64)
	mb, err2 := strconv.ParseInt(m, 10, 64)
	if err1 != nil || err2 != nil || (isMeta && meta == "") {
		return store.Change{}, false
	}
	c := store.Change{AccountID: acc, MailboxID: mb}
	if isMeta {
		c.Metadata = strings.Split(meta, " ")
	}
	return c, true
}

// FeedCoversOtherProcesses reports that the change feed carries the
// commits of every node and process on the database (LISTEN/NOTIFY; after
// a lost connection every watcher is woken).
func (s *Store) FeedCoversOtherProcesses() bool { return true }
