package smtpserver

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net"
	"strings"
	"time"
)

// GreylistStore is the greylisting state (store.Store implements it):
// in the store so that every node agrees.
type GreylistStore interface {
	GreylistAttempt(ctx context.Context, key string, now time.Time, delay, expire time.Duration) (int, error)
	GreylistPasses(ctx context.Context, key string, now time.Time, expire time.Duration) (int, error)
}

// Defaults for GreylistConfig (postgrey's).
const (
	DefaultGreylistDelay  = 5 * time.Minute
	DefaultGreylistExpire = 35 * 24 * time.Hour
)

// GreylistConfig turns greylisting on for unauthenticated MX clients:
// the first attempt of a triplet (client /24 or /64, sender, recipient)
// gets 451 4.7.1, a retry after Delay is accepted, and so is every
// later one while attempts come within Expire of each other.
type GreylistConfig struct {
	Store  GreylistStore
	Delay  time.Duration // 0 accepts the first retry ([greylist] delay defaults to DefaultGreylistDelay)
	Expire time.Duration // default DefaultGreylistExpire
	// AutoAllow lets a client network whose triplets passed this many
	// times skip greylisting (postgrey's --auto-whitelist-clients); 0
	// never. At least 2.
	AutoAllow int
}

// greylistKey hashes the parts of a key: bounded length, and no
// addresses stored in clear.
func greylistKey(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:20])
}

// clientNetwork is the client's /24 (IPv4) or /64 (IPv6): senders that
// retry from another address of their pool still match.
func clientNetwork(ip net.IP) string {
	if ip4 := ip.To4(); ip4 != nil {
		return ip4.Mask(net.CIDRMask(24, 32)).String() + "/24"
	}
	return ip.Mask(net.CIDRMask(64, 128)).String() + "/64"
}

// greylisted decides greylisting for one recipient of an unauthenticated
// MX client: errGreylisted for a first (or too early) attempt. A store
// failure lets the mail through with a log line: greylisting must not
// stop mail.
func (ss *session) greylisted(rcpt string) error {
	g := ss.s.cfg.Greylist
	if g == nil || ss.s.cfg.Mode != ModeMX || ss.account != nil {
		return nil
	}
	ta, ok := ss.remote.(*net.TCPAddr)
	if !ok {
		return nil
	}
	network := clientNetwork(ta.IP)
	now := ss.s.cfg.Now()
	clientKey := greylistKey("client", network)
	if g.AutoAllow >= 2 {
		// The client counter counts from 0 at the first pass
		// (GreylistAttempt), so AutoAllow passes read AutoAllow-1.
		n, err := g.Store.GreylistPasses(ss.ctx, clientKey, now, g.Expire)
		if err != nil {
			ss.log.Error("smtp: greylist", "err", err)
			return nil
		}
		if n >= g.AutoAllow-1 {
			return nil
		}
	}
	key := greylistKey("triplet", network, strings.ToLower(ss.from), strings.ToLower(rcpt))
	passes, err := g.Store.GreylistAttempt(ss.ctx, key, now, g.Delay, g.Expire)
	if err != nil {
		ss.log.Error("smtp: greylist", "err", err)
		return nil
	}
	if passes == 0 {
		ss.log.Info("smtp: greylisted", "client", network, "from", ss.from, "rcpt", rcpt)
		return errGreylisted
	}
	if g.AutoAllow >= 2 {
		if _, err := g.Store.GreylistAttempt(ss.ctx, clientKey, now, 0, g.Expire); err != nil {
			ss.log.Error("smtp: greylist", "err", err)
		}
	}
	return nil
}
