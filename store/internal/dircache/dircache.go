// Package dircache is a node's cache of the directory lookups every
// delivery makes (is a domain local, the account of an address, an
// alias's targets, an account's active Sieve script), for a store whose
// reads are round trips to a database server (store/postgres).
//
// The cache is kept correct by invalidation, not by expiry: every write
// that changes what a lookup answers names the keys it changes (Key; the
// store sends them to the other nodes with its commit), and the cache
// drops them once the write has committed. A lookup whose read started
// before an invalidation does not keep its result (it may predate the
// change), and while the node cannot hear other nodes' invalidations
// (Disable) nothing is kept at all.
package dircache

import (
	"container/list"
	"strconv"
	"sync"
)

// Kind is what a Key names.
type Kind byte

// The kinds of keys.
const (
	Domain  Kind = 'd' // IsLocalDomain of a lower-cased domain
	Account Kind = 'a' // AccountByEmail of a normalized address
	Alias   Kind = 'l' // AliasTargets of a lower-cased alias key
	Sieve   Kind = 's' // ActiveSieveScript of an account id (SieveKey)
	all     Kind = '*'
)

// Key names one cached lookup.
type Key struct {
	Kind Kind
	Name string
}

// All stands for every entry: a change too large to name its keys
// (a whole store loaded).
var All = Key{Kind: all}

// SieveKey is the key of an account's active Sieve script.
func SieveKey(accountID int64) Key {
	return Key{Kind: Sieve, Name: strconv.FormatInt(accountID, 10)}
}

// MaxBytes bounds the memory of a node's cache (keys and values, with a
// per-entry overhead); the least recently used entries go first.
// MaxEntryBytes is the largest entry kept (a Sieve script may be 1 MiB).
const (
	MaxBytes      = 8 << 20
	MaxEntryBytes = MaxBytes / 16
	entryOverhead = 96 // map slot, list element, entry header
)

// Cache is safe for concurrent use. The zero value is not usable: New.
type Cache struct {
	mu      sync.Mutex
	on      bool   // Enable: invalidations from other nodes are heard
	gen     uint64 // bumped by every invalidation, Enable and Disable
	bytes   int
	entries map[Key]*list.Element // of *entry
	lru     list.List             // front: most recently used
}

type entry struct {
	key  Key
	val  any
	size int
}

// New returns a disabled cache: Enable it once the node listens for
// other nodes' invalidations.
func New() *Cache {
	return &Cache{entries: map[Key]*list.Element{}}
}

// Enable empties the cache and starts keeping results: the node hears
// other nodes' invalidations from now on.
func (c *Cache) Enable() { c.reset(true) }

// Disable empties the cache and stops keeping results: the node may
// miss other nodes' invalidations from now on.
func (c *Cache) Disable() { c.reset(false) }

func (c *Cache) reset(on bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.on = on
	c.gen++
	clear(c.entries)
	c.lru.Init()
	c.bytes = 0
}

// Invalidate drops the entries of keys (All: every entry). Call it after
// the change committed.
func (c *Cache) Invalidate(keys ...Key) {
	if len(keys) == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	for _, k := range keys {
		if k.Kind == all {
			clear(c.entries)
			c.lru.Init()
			c.bytes = 0
			return
		}
		if e, ok := c.entries[k]; ok {
			c.remove(e)
		}
	}
}

// Len returns the number of entries (tests).
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}

func (c *Cache) remove(e *list.Element) {
	en := e.Value.(*entry)
	c.lru.Remove(e)
	delete(c.entries, en.key)
	c.bytes -= en.size
}

// get returns k's value and the generation a read started now must give
// put.
func (c *Cache) get(k Key) (val any, ok bool, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, found := c.entries[k]; found {
		c.lru.MoveToFront(e)
		return e.Value.(*entry).val, true, c.gen
	}
	return nil, false, c.gen
}

// put keeps val for k unless the cache is disabled or anything was
// invalidated since gen (the read may have missed that change).
func (c *Cache) put(k Key, val any, size int, gen uint64) {
	size += len(k.Name) + entryOverhead
	if size > MaxEntryBytes {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.on || gen != c.gen {
		return
	}
	if e, ok := c.entries[k]; ok {
		c.remove(e)
	}
	c.entries[k] = c.lru.PushFront(&entry{key: k, val: val, size: size})
	c.bytes += size
	for c.bytes > MaxBytes {
		c.remove(c.lru.Back())
	}
}

// result is a cached outcome: a value, or an answer such as not found.
type result[T any] struct {
	v   T
	err error
}

// Load returns k's cached outcome, or read's, which it keeps if it is a
// value or an error keep accepts (a definite answer such as not found;
// others, such as a lost connection, are not kept). size is the bytes of
// a value beyond its fixed part. The caller must not modify what Load
// returns: it may be shared with other callers.
func Load[T any](c *Cache, k Key, read func() (T, error), keep func(error) bool, size func(T) int) (T, error) {
	cached, ok, gen := c.get(k)
	if ok {
		r := cached.(result[T])
		return r.v, r.err
	}
	v, err := read()
	if err == nil || keep(err) {
		n := 0
		if err == nil {
			n = size(v)
		}
		c.put(k, result[T]{v, err}, n, gen)
	}
	return v, err
}
