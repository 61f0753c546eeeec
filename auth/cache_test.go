package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mailroom/mailroom/internal/pgtest"
	"github.com/mailroom/mailroom/store"
	"github.com/mailroom/mailroom/store/postgres"
	"github.com/mailroom/mailroom/store/sqlite"
)

// mutableAccounts is fakeAccounts that a test may change between logins.
type mutableAccounts struct {
	mu sync.Mutex
	m  map[string]store.Account
}

func (f *mutableAccounts) AccountByEmail(_ context.Context, email string) (store.Account, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	a, ok := f.m[email]
	if !ok {
		return store.Account{}, store.ErrNotFound
	}
	return a, nil
}

func (f *mutableAccounts) set(email, password string, id int64) {
	h := cheapCredentials(password)
	f.mu.Lock()
	f.m[email] = store.Account{ID: id, Email: email, PasswordHash: h}
	f.mu.Unlock()
}

// countVerify wraps a's hasher and returns the number of calls so far.
func countVerify(a *Authenticator) func() int64 {
	var n atomic.Int64
	inner := a.verify
	a.verify = func(h, p string) (bool, error) { n.Add(1); return inner(h, p) }
	return n.Load
}

func newCachedAuth(t *testing.T, cfg CacheConfig) (*Authenticator, *mutableAccounts, *clock, func() int64) {
	t.Helper()
	accts := &mutableAccounts{m: map[string]store.Account{}}
	accts.set("u@example.test", "pw", 1)
	ck := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	a := cheapDummy(NewAuthenticator(accts, slog.New(slog.DiscardHandler), ck.now)).WithCache(cfg)
	a.sleep = func(context.Context, time.Duration) error { return nil }
	return a, accts, ck, countVerify(a)
}

func login(a *Authenticator, user, pw string) error {
	_, err := a.Authenticate(context.Background(), user, pw, ip1)
	return err
}

func TestCacheHitSkipsHasher(t *testing.T) {
	t.Parallel()
	a, _, _, calls := newCachedAuth(t, CacheConfig{TTL: time.Minute})
	for i := range 5 {
		if err := login(a, "u@example.test", "pw"); err != nil {
			t.Fatalf("login %d: %v", i, err)
		}
	}
	if n := calls(); n != 1 {
		t.Errorf("5 logins with one password ran argon2id %d times, want 1", n)
	}
	// Upper case and spaces around the name are the same account.
	if err := login(a, " U@Example.TEST", "pw"); err != nil || calls() != 1 {
		t.Errorf("normalized name: err %v, %d checks", err, calls())
	}
	if st := a.Stats(); st.Succeeded != 6 {
		t.Errorf("stats %+v: cache hits must count as successful logins", st)
	}
}

func TestCacheWrongPasswordAfterCachedOneFails(t *testing.T) {
	t.Parallel()
	a, _, _, calls := newCachedAuth(t, CacheConfig{TTL: time.Minute})
	if err := login(a, "u@example.test", "pw"); err != nil {
		t.Fatal(err)
	}
	for i, pw := range []string{"pW", "pw ", "", "wrong"} {
		if err := login(a, "u@example.test", pw); !errors.Is(err, ErrInvalidCredentials) {
			t.Errorf("password %q after a cached login: %v, want ErrInvalidCredentials", pw, err)
		}
		if n := calls(); n != int64(i+2) {
			t.Errorf("password %q: %d checks, want %d (a different password runs the real check)", pw, n, i+2)
		}
	}
	// Failures are not cached as successes, and do not evict the good one.
	if err := login(a, "u@example.test", "wrong"); !errors.Is(err, ErrInvalidCredentials) {
		t.Errorf("repeated wrong password: %v", err)
	}
	before := calls()
	if err := login(a, "u@example.test", "pw"); err != nil || calls() != before {
		t.Errorf("good password after failures: %v, %d new checks", err, calls()-before)
	}
	// Another account with the cached password is not a hit.
	if err := login(a, "other@example.test", "pw"); !errors.Is(err, ErrInvalidCredentials) {
		t.Errorf("unknown user with a cached password: %v", err)
	}
}

func TestCachePasswordChangeAndDeleteInvalidate(t *testing.T) {
	t.Parallel()
	a, accts, _, calls := newCachedAuth(t, CacheConfig{TTL: time.Hour})
	if err := login(a, "u@example.test", "pw"); err != nil {
		t.Fatal(err)
	}
	accts.set("u@example.test", "new", 1) // user passwd
	if err := login(a, "u@example.test", "pw"); !errors.Is(err, ErrInvalidCredentials) {
		t.Fatalf("old password after passwd: %v, want ErrInvalidCredentials", err)
	}
	if err := login(a, "u@example.test", "new"); err != nil {
		t.Fatalf("new password: %v", err)
	}
	if n := calls(); n != 3 {
		t.Errorf("%d checks, want 3", n)
	}
	// Set back to the old password: a new salt, so a new check.
	accts.set("u@example.test", "pw", 1)
	if err := login(a, "u@example.test", "pw"); err != nil || calls() != 4 {
		t.Errorf("password set back: %v, %d checks, want a real check (4)", err, calls())
	}
	accts.mu.Lock()
	delete(accts.m, "u@example.test") // user delete
	accts.mu.Unlock()
	if err := login(a, "u@example.test", "pw"); !errors.Is(err, ErrInvalidCredentials) {
		t.Errorf("deleted account: %v", err)
	}
	// Re-created with the same password: another account id and hash.
	accts.set("u@example.test", "pw", 2)
	before := calls()
	if err := login(a, "u@example.test", "pw"); err != nil || calls() != before+1 {
		t.Errorf("re-created account: %v, %d checks, want a real one", err, calls()-before)
	}
}

func TestCacheTTLExpires(t *testing.T) {
	t.Parallel()
	a, _, ck, calls := newCachedAuth(t, CacheConfig{TTL: 5 * time.Minute})
	login(a, "u@example.test", "pw")
	ck.add(5*time.Minute - time.Second)
	login(a, "u@example.test", "pw")
	if n := calls(); n != 1 {
		t.Fatalf("within TTL: %d checks, want 1", n)
	}
	ck.add(time.Second)
	if err := login(a, "u@example.test", "pw"); err != nil {
		t.Fatal(err)
	}
	if n := calls(); n != 2 {
		t.Errorf("at TTL: %d checks, want 2 (expired)", n)
	}
	// The check after expiry starts a new TTL (from its own time, not
	// refreshed by hits).
	ck.add(4 * time.Minute)
	login(a, "u@example.test", "pw")
	ck.add(time.Minute)
	login(a, "u@example.test", "pw")
	if n := calls(); n != 3 {
		t.Errorf("hits must not extend the TTL: %d checks, want 3", n)
	}
}

func TestCacheOffWithZeroTTL(t *testing.T) {
	t.Parallel()
	a, _, _, calls := newCachedAuth(t, CacheConfig{TTL: 0, Size: 10})
	login(a, "u@example.test", "pw")
	login(a, "u@example.test", "pw")
	if n := calls(); n != 2 || a.cache.len() != 0 {
		t.Errorf("TTL 0: %d checks, %d entries; want 2, 0", n, a.cache.len())
	}
}

func TestCacheLRUBound(t *testing.T) {
	t.Parallel()
	a, accts, _, calls := newCachedAuth(t, CacheConfig{TTL: time.Hour, Size: 3})
	users := []string{"u@example.test"}
	for i := range 3 {
		u := fmt.Sprintf("u%d@example.test", i)
		accts.set(u, "pw", int64(10+i))
		users = append(users, u)
	}
	for _, u := range users[:3] {
		login(a, u, "pw")
	}
	login(a, users[0], "pw") // users[0] most recent; users[1] least
	login(a, users[3], "pw") // evicts users[1]
	if n := a.cache.len(); n != 3 {
		t.Errorf("%d entries, want the bound 3", n)
	}
	before := calls()
	for _, u := range []string{users[0], users[2], users[3]} {
		login(a, u, "pw")
	}
	if calls() != before {
		t.Errorf("recently used entries were evicted: %d checks", calls()-before)
	}
	login(a, users[1], "pw")
	if calls() != before+1 {
		t.Errorf("least recently used entry was kept")
	}
}

func TestVerificationsBoundedAndQueued(t *testing.T) {
	t.Parallel()
	a, accts, _, _ := newCachedAuth(t, CacheConfig{})
	slots := cap(a.verifySlots)
	var cur, peak atomic.Int64
	release := make(chan struct{})
	a.verify = func(string, string) (bool, error) {
		n := cur.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		<-release
		cur.Add(-1)
		return true, nil
	}
	users := slots * 3
	for i := range users {
		accts.set(fmt.Sprintf("c%d@example.test", i), "pw", int64(100+i))
	}
	var wg sync.WaitGroup
	errs := make(chan error, users)
	for i := range users {
		wg.Go(func() { errs <- login(a, fmt.Sprintf("c%d@example.test", i), "pw") })
	}
	deadline := time.Now().Add(30 * time.Second)
	for cur.Load() < int64(slots) && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond) // give any over the bound a chance to start
	if got := cur.Load(); got != int64(slots) {
		t.Errorf("%d verifications at once, want the bound %d", got, slots)
	}
	// One more attempt whose context ends while queued gives up.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := a.Authenticate(ctx, "c0@example.test", "pw", ip1); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("queued attempt with an ended context: %v", err)
	}
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if p := peak.Load(); p != int64(slots) {
		t.Errorf("peak %d concurrent verifications, want %d", p, slots)
	}
}

// testCacheAcrossHandles runs a passwd and a delete through a second handle on the
// same database while the Authenticator reads through the first: another
// process (the CLI) or another node.
func testCacheAcrossHandles(t *testing.T, auth, admin store.Store) {
	ctx := context.Background()
	h := cheapCredentials("pw")
	if _, err := admin.CreateAccount(ctx, "u@example.test", h); err != nil {
		t.Fatal(err)
	}
	a := cheapDummy(NewAuthenticator(auth, slog.New(slog.DiscardHandler), nil)).WithCache(CacheConfig{TTL: time.Hour})
	calls := countVerify(a)
	for range 3 {
		if err := login(a, "u@example.test", "pw"); err != nil {
			t.Fatal(err)
		}
	}
	if calls() != 1 {
		t.Fatalf("%d checks for 3 logins, want 1", calls())
	}
	h2 := cheapCredentials("new")
	if err := admin.SetPassword(ctx, "u@example.test", h2); err != nil {
		t.Fatal(err)
	}
	if err := login(a, "u@example.test", "pw"); !errors.Is(err, ErrInvalidCredentials) {
		t.Fatalf("old password after passwd on the other handle: %v", err)
	}
	if err := login(a, "u@example.test", "new"); err != nil {
		t.Fatal(err)
	}
	if err := admin.DeleteAccount(ctx, "u@example.test"); err != nil {
		t.Fatal(err)
	}
	if err := login(a, "u@example.test", "new"); !errors.Is(err, ErrInvalidCredentials) {
		t.Fatalf("deleted on the other handle: %v", err)
	}
}

func TestCacheInvalidatedAcrossSQLiteHandles(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "m.db")
	log := slog.New(slog.DiscardHandler)
	s1, err := sqlite.Open(ctx, path, log)
	if err != nil {
		t.Fatal(err)
	}
	defer s1.Close()
	s2, err := sqlite.Open(ctx, path, log)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	testCacheAcrossHandles(t, s1, s2)
}

func TestCacheInvalidatedAcrossPostgresNodes(t *testing.T) {
	t.Parallel()
	dsn := pgtest.DSN(t)
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	s1, err := postgres.Open(ctx, dsn, log)
	if err != nil {
		t.Fatal(err)
	}
	defer s1.Close()
	s2, err := postgres.Open(ctx, dsn, log)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	testCacheAcrossHandles(t, s1, s2)
}
