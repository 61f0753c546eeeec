package auth

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
)

type loginLog struct {
	mu    sync.Mutex
	lines []string
}

func (l *loginLog) Login(protocol, mech, outcome string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, protocol+" "+mech+" "+outcome)
}

// ForProtocol copies report under their protocol and share the counters
// and the throttling of the Authenticator they came from.
func TestObserverPerProtocol(t *testing.T) {
	a, _, _ := newTestAuth(t)
	obs := &loginLog{}
	a.WithObserver(obs).WithLimits(Limits{FailuresPerIP: 4, FailuresPerAccount: 100})
	imap, pop := a.ForProtocol("imap"), a.ForProtocol("pop3")
	ctx := context.Background()
	// SASL PLAIN names its mechanism; a LOGIN or USER/PASS command
	// does not, and counts as "password".
	if _, err := imap.Authenticate(WithMechanism(ctx, "plain"), "u@example.test", "pw", ip1); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		imap.Authenticate(ctx, "u@example.test", "bad", ip1)
		pop.Authenticate(ctx, "u@example.test", "bad", ip1)
	}
	// The fourth failure of the IP happened through two copies: the
	// next attempt is refused, on either.
	if _, err := pop.Authenticate(ctx, "u@example.test", "bad", ip1); !errors.Is(err, ErrThrottled) {
		t.Fatalf("throttling not shared: %v", err)
	}
	_, finish, err := imap.LookupSCRAM(WithMechanism(ctx, MechSCRAMSHA256Plus), "other@example.test", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := finish(false); !errors.Is(err, ErrInvalidCredentials) {
		t.Fatalf("scram finish: %v", err)
	}
	want := []string{
		"imap PLAIN succeeded",
		"imap password failed", "pop3 password failed", "imap password failed", "pop3 password failed",
		"pop3 password throttled",
		"imap SCRAM-SHA-256-PLUS failed",
	}
	if got := strings.Join(obs.lines, ", "); got != strings.Join(want, ", ") {
		t.Errorf("observed %s\nwant     %s", got, strings.Join(want, ", "))
	}
	if s := a.Stats(); s.Succeeded != 1 || s.Failed != 5 || s.Throttled != 1 {
		t.Errorf("shared stats %+v", s)
	}
}
