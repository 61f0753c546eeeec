package auth

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
)

// Verified-credential cache (Dovecot's auth_cache): a successful
// password check leaves behind a keyed hash of what was verified, so the
// same client logging in again with the same password within the TTL
// skips argon2id. Mail clients open several connections and reconnect
// often; each argon2id costs 19 MiB and tens of milliseconds of one core.
//
// The key is HMAC-SHA256, under a random key made per process, of the
// account id, the user name, the password and the account's stored
// credentials as the store returned them for this attempt. Nothing of the
// password is kept that could be checked without the process key.
// Because the stored credentials are part of the key and every attempt
// reads the account from the store first, `mailroom user passwd` (new
// salt, new hash) or `user delete` (no account) makes every earlier entry
// unreachable at once, on every node and for any process that changed the
// store, with no message to deliver: the credential itself is the version.
// Failed checks are never stored; a different password is a different key
// and runs the real check.

// Defaults for the cache (config [limits] auth_cache_ttl, auth_cache_size).
const (
	DefaultCacheTTL  = 5 * time.Minute
	DefaultCacheSize = 10000
	// MaxCacheSize bounds auth_cache_size: each entry is ~100 bytes.
	MaxCacheSize = 1_000_000
)

// CacheConfig configures the verified-credential cache. TTL 0 disables
// it; Size 0 is DefaultCacheSize.
type CacheConfig struct {
	TTL  time.Duration
	Size int
}

type credCache struct {
	key     [32]byte
	ttl     time.Duration
	entries *lru.Cache[[32]byte, time.Time] // HMAC → expiry
}

func newCredCache(c CacheConfig) *credCache {
	if c.TTL <= 0 {
		return nil
	}
	size := c.Size
	if size <= 0 {
		size = DefaultCacheSize
	}
	size = min(size, MaxCacheSize)
	entries, err := lru.New[[32]byte, time.Time](size)
	if err != nil { // only for size <= 0
		return nil
	}
	cc := &credCache{ttl: c.TTL, entries: entries}
	if _, err := rand.Read(cc.key[:]); err != nil {
		return nil // crypto/rand does not fail on supported systems; no cache then
	}
	return cc
}

// tag is the entry key for one verified (account, user, password,
// stored credentials).
func (c *credCache) tag(accountID int64, user, password, stored string) [32]byte {
	m := hmac.New(sha256.New, c.key[:])
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(accountID))
	m.Write(n[:])
	for _, s := range []string{user, password, stored} {
		binary.BigEndian.PutUint64(n[:], uint64(len(s)))
		m.Write(n[:])
		m.Write([]byte(s))
	}
	var out [32]byte
	m.Sum(out[:0])
	return out
}

// hit reports whether tag was verified and has not expired at now. An
// expired entry is removed.
func (c *credCache) hit(tag [32]byte, now time.Time) bool {
	if c == nil {
		return false
	}
	exp, ok := c.entries.Get(tag)
	if !ok {
		return false
	}
	if !now.Before(exp) {
		c.entries.Remove(tag)
		return false
	}
	return true
}

// add records a successful check of tag at now.
func (c *credCache) add(tag [32]byte, now time.Time) {
	if c == nil {
		return
	}
	c.entries.Add(tag, now.Add(c.ttl))
}

func (c *credCache) len() int {
	if c == nil {
		return 0
	}
	return c.entries.Len()
}
