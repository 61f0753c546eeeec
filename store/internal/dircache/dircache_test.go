package dircache

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

var errNotFound = errors.New("not found")

func keepNotFound(err error) bool { return errors.Is(err, errNotFound) }

// counter is a read that counts its calls and answers what val says.
type counter struct {
	n   int
	val string
	err error
}

func (c *counter) read() (string, error) {
	c.n++
	return c.val, c.err
}

func load(c *Cache, k Key, r *counter) (string, error) {
	return Load(c, k, r.read, keepNotFound, func(s string) int { return len(s) })
}

func TestLoadKeepsAnswers(t *testing.T) {
	c := New()
	c.Enable()
	k := Key{Kind: Account, Name: "a@example.org"}
	r := &counter{val: "v1"}
	for range 3 {
		if v, err := load(c, k, r); v != "v1" || err != nil {
			t.Fatalf("%q, %v", v, err)
		}
	}
	if r.n != 1 {
		t.Errorf("3 loads read %d times, want 1", r.n)
	}
	// A definite "not found" is kept; another error is not.
	nf := &counter{err: errNotFound}
	load(c, Key{Kind: Account, Name: "none"}, nf)
	if _, err := load(c, Key{Kind: Account, Name: "none"}, nf); !errors.Is(err, errNotFound) || nf.n != 1 {
		t.Errorf("not found: %v after %d reads, want kept after 1", err, nf.n)
	}
	fail := &counter{err: errors.New("connection lost")}
	load(c, Key{Kind: Domain, Name: "x"}, fail)
	load(c, Key{Kind: Domain, Name: "x"}, fail)
	if fail.n != 2 {
		t.Errorf("a failed read was kept: %d reads", fail.n)
	}

	c.Invalidate(k)
	r.val = "v2"
	if v, _ := load(c, k, r); v != "v2" || r.n != 2 {
		t.Errorf("after Invalidate: %q after %d reads", v, r.n)
	}
	c.Invalidate(All)
	if c.Len() != 0 {
		t.Errorf("%d entries after Invalidate(All)", c.Len())
	}
}

// A read that an invalidation overlaps may have read the value from
// before the change: it is returned but not kept.
func TestInvalidateDuringRead(t *testing.T) {
	c := New()
	c.Enable()
	k := SieveKey(7)
	stale := func() (string, error) {
		c.Invalidate(k) // the change commits while the read runs
		return "old", nil
	}
	if v, _ := Load(c, k, stale, keepNotFound, func(string) int { return 0 }); v != "old" {
		t.Fatal(v)
	}
	r := &counter{val: "new"}
	if v, _ := load(c, k, r); v != "new" || r.n != 1 {
		t.Errorf("after an overlapped read: %q, %d reads; the stale value was kept", v, r.n)
	}
}

// Disabled (the node is not listening) the cache keeps nothing, and
// Disable and Enable both empty it.
func TestDisabled(t *testing.T) {
	c := New()
	k := Key{Kind: Domain, Name: "example.org"}
	r := &counter{val: "x"}
	load(c, k, r)
	load(c, k, r)
	if r.n != 2 || c.Len() != 0 {
		t.Errorf("new cache: %d reads, %d entries; want nothing kept before Enable", r.n, c.Len())
	}
	c.Enable()
	load(c, k, r)
	c.Disable()
	if c.Len() != 0 {
		t.Error("Disable kept entries")
	}
	load(c, k, r)
	if r.n != 4 || c.Len() != 0 {
		t.Errorf("disabled: %d reads, %d entries", r.n, c.Len())
	}
	c.Enable()
	load(c, k, r)
	c.Enable()
	if c.Len() != 0 {
		t.Error("Enable kept entries")
	}
}

// The cache stays within MaxBytes, dropping the least recently used
// entries; an entry above MaxEntryBytes is not kept.
func TestBounded(t *testing.T) {
	c := New()
	c.Enable()
	big := strings.Repeat("x", 64<<10)
	first := Key{Kind: Sieve, Name: "0"}
	r := &counter{val: big}
	load(c, first, r)
	for i := 1; i < 2*MaxBytes/len(big); i++ {
		load(c, Key{Kind: Sieve, Name: fmt.Sprint(i)}, r)
		load(c, first, r) // keep it recently used
		c.mu.Lock()
		b := c.bytes
		c.mu.Unlock()
		if b > MaxBytes {
			t.Fatalf("%d bytes after %d entries, bound %d", b, i+1, MaxBytes)
		}
	}
	if c.Len() >= 2*MaxBytes/len(big) {
		t.Errorf("%d entries: none dropped", c.Len())
	}
	reads := r.n
	load(c, first, r)
	if r.n != reads {
		t.Error("the most recently used entry was dropped")
	}
	huge := &counter{val: strings.Repeat("y", MaxEntryBytes)}
	load(c, Key{Kind: Sieve, Name: "huge"}, huge)
	load(c, Key{Kind: Sieve, Name: "huge"}, huge)
	if huge.n != 2 {
		t.Errorf("an entry above MaxEntryBytes was kept")
	}
}
