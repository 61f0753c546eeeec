package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/mailroom/mailroom/store"
	"github.com/mailroom/mailroom/store/internal/dircache"
)

// lookups is what a delivery to addr asks node s (Recipients), as one
// string.
func lookups(t *testing.T, n *Store, addr string) string {
	s := n.Recipients()
	t.Helper()
	ctx := context.Background()
	_, domain, _ := strings.Cut(addr, "@")
	local, err := s.IsLocalDomain(ctx, domain)
	if err != nil {
		t.Fatal(err)
	}
	out := fmt.Sprintf("local=%v", local)
	a, err := s.AccountByEmail(ctx, addr)
	switch {
	case errors.Is(err, store.ErrNotFound):
		out += " account=none"
	case err != nil:
		t.Fatal(err)
	default:
		out += " account=" + a.PasswordHash
		sc, err := s.ActiveSieveScript(ctx, a.ID)
		switch {
		case errors.Is(err, store.ErrNotFound):
			out += " sieve=none"
		case err != nil:
			t.Fatal(err)
		default:
			out += " sieve=" + sc.Name + ":" + string(sc.Source)
		}
	}
	targets, err := s.AliasTargets(ctx, addr)
	switch {
	case errors.Is(err, store.ErrNotFound):
		out += " alias=none"
	case err != nil:
		t.Fatal(err)
	default:
		out += " alias=" + strings.Join(targets, ",")
	}
	return out
}

// eventually waits up to 30 s for node s's lookups of addr to say want
// (a change on another node reaches s's cache with its notification).
func eventually(t *testing.T, s *Store, addr, want, what string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		got := lookups(t, s, addr)
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: node 2 still answers %q, want %q", what, got, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// syncNodes returns once node 2 has received every notification node 1
// sent before: node 2 caches that a new domain is not local, node 1 adds
// it, and node 2 answers that it is local only once the notification of
// the add has dropped its entry (notifications arrive in commit order).
func syncNodes(t *testing.T, n1, n2 *Store) {
	t.Helper()
	ctx := context.Background()
	name := fmt.Sprintf("sync%d.example", time.Now().UnixNano())
	if local, err := n2.Recipients().IsLocalDomain(ctx, name); err != nil || local {
		t.Fatalf("IsLocalDomain(%s) before: %v, %v", name, local, err)
	}
	if _, err := n1.AddDomain(ctx, name); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		local, err := n2.Recipients().IsLocalDomain(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		if local {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("node 2 did not hear of domain %s within 30 s", name)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestDirCacheAcrossNodes: node 2 answers a delivery's lookups (local
// domain, account, active Sieve script, alias; Recipients) from its
// cache, without a round trip, and a change made on node 1 (an alias added, a script
// activated or edited, a password set, an account deleted, a domain
// added and removed) reaches node 2's answers with node 1's notification.
// A node's own change is in its answers as soon as the write returns.
func TestDirCacheAcrossNodes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dsn := testDSN(t)
	n1 := openDSN(t, dsn)
	n2, rt := openCounting(t, dsn)
	alice, err := n1.CreateAccount(ctx, "alice@example.org", "h1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n1.PutSieveScript(ctx, alice.ID, "s1", []byte("keep;")); err != nil {
		t.Fatal(err)
	}
	if err := n1.ActivateSieveScript(ctx, alice.ID, "s1"); err != nil {
		t.Fatal(err)
	}
	const addr = "alice@example.org"
	want := "local=true account=h1 sieve=s1:keep; alias=none"
	eventually(t, n2, addr, want, "node 1's setup")
	syncNodes(t, n1, n2) // no notification of the setup still on its way
	// Fill the cache (a read that an invalidation overlapped kept nothing).
	lookups(t, n2, addr)
	lookups(t, n2, "nobody@example.com")

	before := rt.n.Load()
	for range 3 {
		if got := lookups(t, n2, addr); got != want {
			t.Fatalf("lookups %q, want %q", got, want)
		}
		if got := lookups(t, n2, "nobody@example.com"); got != "local=false account=none alias=none" {
			t.Fatalf("lookups of an unknown address %q", got)
		}
	}
	if got := rt.n.Load() - before; got != 0 {
		t.Errorf("repeated lookups took %d round trips, want 0 (from the node's cache)", got)
	}

	steps := []struct {
		what   string
		change func() error
		want   string
	}{
		{"alias added", func() error {
			_, err := n1.AddAlias(ctx, addr, []string{"bob@example.org"})
			return err
		}, "local=true account=h1 sieve=s1:keep; alias=bob@example.org"},
		{"script edited", func() error {
			_, err := n1.PutSieveScript(ctx, alice.ID, "s1", []byte("discard;"))
			return err
		}, "local=true account=h1 sieve=s1:discard; alias=bob@example.org"},
		{"another script activated", func() error {
			if _, err := n1.PutSieveScript(ctx, alice.ID, "s2", []byte("stop;")); err != nil {
				return err
			}
			return n1.ActivateSieveScript(ctx, alice.ID, "s2")
		}, "local=true account=h1 sieve=s2:stop; alias=bob@example.org"},
		{"script renamed", func() error { return n1.RenameSieveScript(ctx, alice.ID, "s2", "s3") },
			"local=true account=h1 sieve=s3:stop; alias=bob@example.org"},
		{"script deleted", func() error { return n1.DeleteSieveScript(ctx, alice.ID, "s3") },
			"local=true account=h1 sieve=none alias=bob@example.org"},
		{"password set", func() error { return n1.SetPassword(ctx, addr, "h2") },
			"local=true account=h2 sieve=none alias=bob@example.org"},
		{"alias deleted", func() error { return n1.DeleteAlias(ctx, addr) },
			"local=true account=h2 sieve=none alias=none"},
		{"account deleted", func() error { return n1.DeleteAccount(ctx, addr) },
			"local=false account=none alias=none"},
		{"domain added", func() error {
			_, err := n1.AddDomain(ctx, "example.org")
			return err
		}, "local=true account=none alias=none"},
		{"domain removed", func() error { return n1.DeleteDomain(ctx, "example.org") },
			"local=false account=none alias=none"},
		{"account created", func() error {
			_, err := n1.CreateAccount(ctx, addr, "h3")
			return err
		}, "local=true account=h3 sieve=none alias=none"},
	}
	for _, st := range steps {
		if err := st.change(); err != nil {
			t.Fatalf("%s: %v", st.what, err)
		}
		eventually(t, n2, addr, st.want, st.what)
	}

	// Node 2's own change: no waiting.
	if _, err := n2.AddAlias(ctx, "@example.org", []string{addr}); err != nil {
		t.Fatal(err)
	}
	if got, err := n2.Recipients().AliasTargets(ctx, "@example.org"); err != nil || len(got) != 1 {
		t.Fatalf("node 2 after its own AddAlias: %v, %v", got, err)
	}
	if err := n2.SetPassword(ctx, addr, "h4"); err != nil {
		t.Fatal(err)
	}
	if got := lookups(t, n2, addr); got != "local=true account=h4 sieve=none alias=none" {
		t.Fatalf("node 2 after its own SetPassword: %q", got)
	}
}

// TestDirCacheListenLoss: a change made without a notification (here by
// SQL behind the store's back) is not seen while node 2 answers a
// delivery's lookups from its cache (the store's own AccountByEmail,
// which logins use, sees it at once); once node 2's LISTEN connection is
// lost, it has emptied its cache (it may have missed notifications) and
// reads the database again.
func TestDirCacheListenLoss(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dsn := testDSN(t)
	n1 := openDSN(t, dsn)
	n2 := openDSN(t, dsn)
	if _, err := n1.CreateAccount(ctx, "carol@example.org", "old"); err != nil {
		t.Fatal(err)
	}
	eventually(t, n2, "carol@example.org", "local=true account=old sieve=none alias=none", "node 1's setup")
	// The notification of the setup may still be on its way, and would
	// drop the entry the lookups above left (or the read it overlapped
	// kept nothing): wait for it, then fill the cache.
	syncNodes(t, n1, n2)
	lookups(t, n2, "carol@example.org")
	if _, err := n1.pool.Exec(ctx, "UPDATE accounts SET password_hash = 'new' WHERE email = 'carol@example.org'"); err != nil {
		t.Fatal(err)
	}
	if a, err := n2.Recipients().AccountByEmail(ctx, "carol@example.org"); err != nil || a.PasswordHash != "old" {
		t.Fatalf("node 2 before the loss: %+v, %v; want the cached hash", a, err)
	}
	// Logins read the database: a new password is effective at once.
	if a, err := n2.AccountByEmail(ctx, "carol@example.org"); err != nil || a.PasswordHash != "new" {
		t.Fatalf("node 2's uncached AccountByEmail: %+v, %v; want the database's hash", a, err)
	}
	pid := n2.listenPID.Load()
	var killed bool
	if err := n1.pool.QueryRow(ctx, "SELECT pg_terminate_backend($1)", int64(pid)).Scan(&killed); err != nil || !killed {
		t.Fatalf("pg_terminate_backend(%d): %v, %v", pid, killed, err)
	}
	// The new connection is made after the old one's loss emptied the cache.
	deadline := time.Now().Add(30 * time.Second)
	for n2.listenPID.Load() == pid {
		if time.Now().After(deadline) {
			t.Fatal("listen connection not replaced within 30 s")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if a, err := n2.Recipients().AccountByEmail(ctx, "carol@example.org"); err != nil || a.PasswordHash != "new" {
		t.Fatalf("node 2 after the LISTEN connection was lost: %+v, %v; want the database's hash", a, err)
	}
}

// TestDirPayloads: directory keys survive the notification payload, a
// name too long for one invalidates everything, and a payload of an
// unknown kind is recognised as a directory change (the listener then
// drops everything).
func TestDirPayloads(t *testing.T) {
	for _, k := range []dircache.Key{
		{Kind: dircache.Domain, Name: "example.org"},
		{Kind: dircache.Account, Name: "a:b@example.org"},
		{Kind: dircache.Alias, Name: "@example.org"},
		dircache.SieveKey(42),
		dircache.All,
	} {
		got, isDir, ok := parseDirPayload(dirPayload(k))
		if !isDir || !ok || got != k {
			t.Errorf("%+v: payload %q parsed as %+v, %v, %v", k, dirPayload(k), got, isDir, ok)
		}
		if _, ok := parsePayload(dirPayload(k)); ok {
			t.Errorf("%q parses as a mailbox change too", dirPayload(k))
		}
	}
	long := dircache.Key{Kind: dircache.Account, Name: strings.Repeat("x", maxPayload)}
	if p := dirPayload(long); p != "d:*" {
		t.Errorf("payload of a long key %q, want d:*", p[:20])
	}
	if _, isDir, ok := parseDirPayload("d:q:x"); !isDir || ok {
		t.Errorf("unknown kind: isDir %v ok %v", isDir, ok)
	}
	if _, isDir, _ := parseDirPayload("12:34"); isDir {
		t.Error("a mailbox change parsed as a directory change")
	}
}
