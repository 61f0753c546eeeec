// Package connlimit bounds the connections a listener hands out: in total
// and per client IP. A connection over a limit is answered with a
// protocol-specific temporary refusal (SMTP "421 4.7.0", POP3
// "-ERR [SYS/TEMP]", IMAP "* BYE") and closed before the server sees it.
package connlimit

import (
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Refusals for Config.Refuse.
var (
	RefuseSMTP = []byte("421 4.7.0 Too many connections, try again later\r\n")           // RFC 5321 §3.8, RFC 3463
	RefusePOP3 = []byte("-ERR [SYS/TEMP] Too many connections, try again later\r\n")     // RFC 3206 §4
	RefuseIMAP = []byte("* BYE [UNAVAILABLE] Too many connections, try again later\r\n") // RFC 9051 §7.1.5, RFC 5530
	// RefuseManageSieve: RFC 5804 §1.3 TRYLATER.
	RefuseManageSieve = []byte("BYE (TRYLATER) \"Too many connections, try again later\"\r\n")
)

// Config sets the limits; zero means unlimited.
type Config struct {
	Total int
	PerIP int
	// Refuse is written to a refused connection before it is closed; nil
	// closes it silently (implicit-TLS listeners, where no plaintext may be
	// sent).
	Refuse []byte
	Logger *slog.Logger
}

// Listener is a net.Listener with connection limits.
type Listener struct {
	net.Listener
	cfg Config

	mu    sync.Mutex
	total int
	perIP map[string]int

	accepted, refused atomic.Uint64
}

// Stats are counters for monitoring.
type Stats struct {
	Active   int
	Accepted uint64
	Refused  uint64
}

// New wraps l.
func New(l net.Listener, cfg Config) *Listener {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Listener{Listener: l, cfg: cfg, perIP: make(map[string]int)}
}

// Accept returns the next connection within the limits; connections over
// a limit are refused and never returned.
func (l *Listener) Accept() (net.Conn, error) {
	for {
		nc, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		ip := ipOf(nc.RemoteAddr())
		if l.acquire(ip) {
			l.accepted.Add(1)
			return &conn{Conn: nc, l: l, ip: ip}, nil
		}
		l.refused.Add(1)
		l.cfg.Logger.Warn("connection refused: limit reached", "remote", nc.RemoteAddr().String())
		go func() {
			if l.cfg.Refuse != nil {
				nc.SetWriteDeadline(time.Now().Add(time.Second))
				nc.Write(l.cfg.Refuse)
			}
			nc.Close()
		}()
	}
}

// SetLimits replaces Config.Total and Config.PerIP (a config reload):
// the next connection is counted against them; connections already
// open stay open, even above a lowered limit.
func (l *Listener) SetLimits(total, perIP int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.cfg.Total, l.cfg.PerIP = total, perIP
}

func (l *Listener) acquire(ip string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.cfg.Total > 0 && l.total >= l.cfg.Total {
		return false
	}
	if l.cfg.PerIP > 0 && l.perIP[ip] >= l.cfg.PerIP {
		return false
	}
	l.total++
	l.perIP[ip]++
	return true
}

func (l *Listener) release(ip string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.total--
	if l.perIP[ip]--; l.perIP[ip] <= 0 {
		delete(l.perIP, ip)
	}
}

// Stats returns the current counters.
func (l *Listener) Stats() Stats {
	l.mu.Lock()
	active := l.total
	l.mu.Unlock()
	return Stats{Active: active, Accepted: l.accepted.Load(), Refused: l.refused.Load()}
}

type conn struct {
	net.Conn
	l    *Listener
	ip   string
	once sync.Once
}

// WriteBuffers writes bufs as net.Buffers.WriteTo does on the
// connection underneath: with one writev on TCP, which this wrapper
// would otherwise hide from net.Buffers (IMAP FETCH sends a response and
// its literal together).
func (c *conn) WriteBuffers(bufs *net.Buffers) (int64, error) { return bufs.WriteTo(c.Conn) }

func (c *conn) Close() error {
	c.once.Do(func() { c.l.release(c.ip) })
	return c.Conn.Close()
}

func ipOf(a net.Addr) string {
	if t, ok := a.(*net.TCPAddr); ok {
		return t.IP.String()
	}
	host, _, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	return host
}
