package srs

import (
	"errors"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)

func rewriter(t *testing.T, now *time.Time, keys ...string) *Rewriter {
	t.Helper()
	var ks [][]byte
	for _, k := range keys {
		ks = append(ks, []byte(k))
	}
	r, err := New("fwd.example", ks, 0, func() time.Time { return *now })
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	now := t0
	r := rewriter(t, &now, "k1")
	got, err := r.Forward("Alice@Origin.example")
	if err != nil {
		t.Fatal(err)
	}
	a, err := Parse(got[:strings.LastIndexByte(got, '@')])
	if err != nil || a.Kind != 0 || a.Domain != "Origin.example" || a.Local != "Alice" || !strings.HasSuffix(got, "@fwd.example") {
		t.Fatalf("Forward = %q, parsed %+v, %v", got, a, err)
	}
	back, err := r.Reverse(got)
	if err != nil || back != "Alice@Origin.example" {
		t.Fatalf("Reverse(%q) = %q, %v", got, back, err)
	}
	// Mail systems may fold case; the hash still verifies.
	if back, err := r.Reverse(strings.ToLower(got)); err != nil || !strings.EqualFold(back, "alice@origin.example") {
		t.Fatalf("Reverse(lower) = %q, %v", back, err)
	}
	// Our own domain and the null sender are not rewritten.
	for _, s := range []string{"", "bob@FWD.example"} {
		if got, err := r.Forward(s); err != nil || got != s {
			t.Fatalf("Forward(%q) = %q, %v", s, got, err)
		}
	}
}

func TestExpiry(t *testing.T) {
	t.Parallel()
	now := t0
	r := rewriter(t, &now, "k1")
	a, _ := r.Forward("a@b.example")
	now = t0.Add(21 * 24 * time.Hour)
	if _, err := r.Reverse(a); err != nil {
		t.Fatalf("21 days: %v", err)
	}
	now = t0.Add(22 * 24 * time.Hour)
	if _, err := r.Reverse(a); !errors.Is(err, ErrExpired) {
		t.Fatalf("22 days: %v, want ErrExpired", err)
	}
	// Across the 1024-day wrap of the stamp.
	now = time.Unix(1023*86400+3600, 0)
	w, _ := r.Forward("a@b.example")
	now = now.Add(2 * 24 * time.Hour)
	if _, err := r.Reverse(w); err != nil {
		t.Fatalf("across wrap: %v", err)
	}
}

func TestForgedAndRotation(t *testing.T) {
	t.Parallel()
	now := t0
	old := rewriter(t, &now, "old")
	a, _ := old.Forward("a@b.example")
	rotated := rewriter(t, &now, "new", "old")
	if back, err := rotated.Reverse(a); err != nil || back != "a@b.example" {
		t.Fatalf("old key after rotation: %q, %v", back, err)
	}
	n, _ := rotated.Forward("a@b.example")
	if _, err := old.Reverse(n); !errors.Is(err, ErrHash) {
		t.Fatalf("new key on old rewriter: %v, want ErrHash", err)
	}
	// Another sender under the same hash: forged.
	forged := strings.Replace(a, "=a@", "=mallory@", 1)
	if _, err := old.Reverse(forged); !errors.Is(err, ErrHash) {
		t.Fatalf("forged %q: %v, want ErrHash", forged, err)
	}
	for _, bad := range []string{"SRS0=xx=AA=b.example=a@fwd.example", "SRS0=abcd=A!=b=a@f", "SRS0=abcd@f", "SRS1=abcd=x@f"} {
		if _, err := old.Reverse(bad); !errors.Is(err, ErrSyntax) {
			t.Errorf("Reverse(%q) = %v, want ErrSyntax", bad, err)
		}
	}
	if _, err := old.Reverse("alice@fwd.example"); !errors.Is(err, ErrNotSRS) {
		t.Errorf("plain address: %v", err)
	}
}

func TestSRS1(t *testing.T) {
	t.Parallel()
	now := t0
	first, _ := New("first.example", [][]byte{[]byte("k0")}, 0, func() time.Time { return now })
	r := rewriter(t, &now, "k1")
	s0, _ := first.Forward("a@b.example")
	s1, err := r.Forward(s0)
	if err != nil || !strings.HasPrefix(s1, "SRS1=") || !strings.HasSuffix(s1, "@fwd.example") {
		t.Fatalf("Forward(%q) = %q, %v", s0, s1, err)
	}
	// A third forwarder keeps pointing at the first one.
	third, _ := New("third.example", [][]byte{[]byte("k3")}, 0, func() time.Time { return now })
	s1b, _ := third.Forward(s1)
	if !strings.Contains(s1b, "=first.example==") {
		t.Fatalf("third hop %q lost the first forwarder", s1b)
	}
	back, err := r.Reverse(s1)
	if err != nil || back != s0 {
		t.Fatalf("Reverse(%q) = %q, %v; want %q", s1, back, err, s0)
	}
	if orig, err := first.Reverse(back); err != nil || orig != "a@b.example" {
		t.Fatalf("first.Reverse = %q, %v", orig, err)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"SRS0=HHHH=TT=example.com=alice", "SRS1=HHHH=fwd.example==HHHH=TT=d=l", "srs0+abcd=AB=d=l", "SRS1=abcd=x=-abcd=AA=d=l", "SRS0="} {
		f.Add(s)
	}
	now := t0
	r, _ := New("fwd.example", [][]byte{[]byte("k")}, 0, func() time.Time { return now })
	f.Fuzz(func(t *testing.T, s string) {
		a, err := Parse(s)
		if err != nil {
			return
		}
		if a.Kind != 0 && a.Kind != 1 {
			t.Fatalf("kind %d", a.Kind)
		}
		_, _ = r.Reverse(s + "@fwd.example")
		// What we write, we read back.
		if a.Kind == 0 && !strings.ContainsAny(a.Local, "@") {
			fw, err := r.Forward(a.Local + "@" + a.Domain)
			if err != nil {
				t.Fatalf("Forward: %v", err)
			}
			if len(fw) <= MaxAddress {
				if back, err := r.Reverse(fw); err != nil || back != a.Local+"@"+a.Domain {
					t.Fatalf("round trip %q -> %q -> %q, %v", a.Local+"@"+a.Domain, fw, back, err)
				}
			}
		}
	})
}
