package webadmin_test

import (
	"slices"
	"testing"
	"time"

	"github.com/mailroom/mailroom/internal/recent"
	"github.com/mailroom/mailroom/webadmin"
)

// The dashboard lists the recent local deliveries and outbound failures
// newest first, with full addresses (only admins see it), the null
// sender as <>, and markup in a remote reply as text.
func TestDashboardRecent(t *testing.T) {
	t.Parallel()
	log := recent.NewLog(2)
	e := newEnv(t, func(c *webadmin.Config) { c.Recent = log })
	at := time.Date(2026, 12, 2, 9, 30, 0, 0, time.UTC)
	log.LocalDelivery(at, "old@remote.test", userEmail, "inbox") // pushed out by the next two
	log.LocalDelivery(at.Add(time.Minute), "", userEmail, "junk")
	log.LocalDelivery(at.Add(2*time.Minute), "x@remote.test", adminEmail, "inbox")
	log.OutboundFailure(at.Add(3*time.Minute), userEmail, "nobody@far.test", "failed", "550 5.1.1 <b>no such user</b>")

	c := e.client()
	dash := c.mustLogin("/admin/", adminEmail, adminPW)
	cells := func(id string) []string {
		var out []string
		for _, td := range all(byID(dash.doc, id), isTag("td")) {
			out = append(out, text(td))
		}
		return out
	}
	want := []string{
		"2026-12-02 09:32 UTC", "x@remote.test", adminEmail, "inbox",
		"2026-12-02 09:31 UTC", "<>", userEmail, "junk",
	}
	if got := cells("recent-deliveries"); !slices.Equal(got, want) {
		t.Fatalf("recent deliveries %q, want %q", got, want)
	}
	want = []string{"2026-12-02 09:33 UTC", userEmail, "nobody@far.test", "failed", "550 5.1.1 <b>no such user</b>"}
	if got := cells("recent-failures"); !slices.Equal(got, want) {
		t.Fatalf("recent failures %q, want %q", got, want)
	}
	if walk(dash.doc, isTag("b")) != nil {
		t.Fatal("a remote reply's markup became an element")
	}

	// A user who is not an admin does not get the dashboard.
	u := e.client()
	if r := u.mustLogin("/account/", userEmail, userPW); byID(r.doc, "recent-deliveries") != nil {
		t.Fatal("recent deliveries on the account page")
	}
}
