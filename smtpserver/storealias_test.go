package smtpserver

import (
	"testing"
)

// An alias kept in the store lets the accounts it lists send as it,
// like an [aliases] entry, from the moment it is added; [aliases] wins
// for a key both have.
func TestSubmissionSenderStoreAlias(t *testing.T) {
	t.Parallel()
	q := &fakeQueue{}
	h := newHarness(t, ModeSubmission, func(c *Config) {
		c.Queue = q
		c.Aliases = testAliases // team@example.com lists alice
	})
	if h.full == nil {
		t.Fatal("the harness has no SQLite store (testWithSQLite)")
	}
	c := h.dial()
	c.do("EHLO c", 250, "")
	c.login("alice@example.com")
	c.do("MAIL FROM:<help@example.com>", 553, "5.7.1")
	if _, err := h.full.AddAlias(t.Context(), "help@example.com", []string{"alice@example.com"}); err != nil {
		t.Fatal(err)
	}
	c.do("MAIL FROM:<help@example.com>", 250, "2.0.0")
	c.do("RSET", 250, "2.0.0")
	// The store says team@ is bob's only; [aliases] says alice's: it wins.
	if _, err := h.full.AddAlias(t.Context(), "team@example.com", []string{"bob@example.com"}); err != nil {
		t.Fatal(err)
	}
	c.do("MAIL FROM:<team@example.com>", 250, "2.0.0")
	c.do("RSET", 250, "2.0.0")
	if err := h.full.DeleteAlias(t.Context(), "help@example.com"); err != nil {
		t.Fatal(err)
	}
	c.do("MAIL FROM:<help@example.com>", 553, "5.7.1")
}
