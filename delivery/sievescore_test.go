package delivery_test

import (
	"context"
	"testing"
	"time"

	"github.com/mailroom/mailroom/delivery"
	"github.com/mailroom/mailroom/sieve"
	"github.com/mailroom/mailroom/store"
)

// mailboxCount is the number of messages in the account's mailbox name
// (0 when it does not exist).
func mailboxCount(t *testing.T, st store.Store, email, name string) uint32 {
	t.Helper()
	a, err := st.AccountByEmail(t.Context(), email)
	if err != nil {
		t.Fatal(err)
	}
	mb, err := st.MailboxByName(t.Context(), a.ID, name)
	if err != nil {
		return 0
	}
	s, err := st.MailboxStatus(t.Context(), mb.Ref())
	if err != nil {
		t.Fatal(err)
	}
	return s.Messages
}

// spamtest reads the score from X-Spam-Score or Rspamd's
// X-Spamd-Result; include :personal loads the account's own script,
// :global the configured admin script.
func TestSieveSpamtestAndInclude(t *testing.T) {
	st := openStore(t, "alice@example.com")
	a, _ := st.AccountByEmail(t.Context(), "alice@example.com")
	put := func(name, src string) {
		t.Helper()
		if _, err := st.PutSieveScript(t.Context(), a.ID, name, []byte(src)); err != nil {
			t.Fatal(err)
		}
	}
	put("spam", `require ["spamtest", "relational", "comparator-i;ascii-numeric", "fileinto", "mailbox"];
if spamtest :value "ge" :comparator "i;ascii-numeric" "6" { fileinto :create "Junk"; stop; }
if spamtest :value "eq" :comparator "i;ascii-numeric" "0" { fileinto :create "Untested"; stop; }
`)
	put("virus", `require ["virustest", "relational", "comparator-i;ascii-numeric", "fileinto", "mailbox"];
if virustest :value "ge" :comparator "i;ascii-numeric" "4" { fileinto :create "Quarantine"; stop; }
`)
	put("main", `require ["include"];
include :personal "virus";
include :personal "spam";
include :global "lists";
`)
	if err := st.ActivateSieveScript(t.Context(), a.ID, "main"); err != nil {
		t.Fatal(err)
	}
	global := func(ctx context.Context, name string) ([]byte, error) {
		if name != "lists" {
			return nil, sieve.ErrScriptNotFound
		}
		return []byte(`require ["fileinto", "mailbox"]; if exists "List-Id" { fileinto :create "Lists"; }`), nil
	}
	d := newDeliverer(t, delivery.Config{Store: st, Queue: &signingQueue{}, Now: func() time.Time { return testEpoch },
		Sieve: delivery.SieveConfig{GlobalScripts: global}})
	deliver := func(hdr string) {
		t.Helper()
		raw := "From: <s@remote.example>\r\nTo: <alice@example.com>\r\nSubject: s\r\n" + hdr + "\r\nbody\r\n"
		env := delivery.Envelope{From: "s@remote.example", Recipients: []delivery.Recipient{resolve(t, d, "alice@example.com", false)}}
		if _, err := d.Deliver(t.Context(), env, newMessage(raw)); err != nil {
			t.Fatal(err)
		}
	}
	deliver("X-Spam-Score: 12.5\r\n")                                       // 12.5/15 -> 8
	deliver("X-Spamd-Result: default: True [9.10 / 10.00]; R_SPF_FAIL\r\n") // 91% -> 9
	deliver("X-Spam-Score: 1.0\r\n")                                        // 1
	deliver("X-Spamd-Result: default: False [1.20 / 15.00]\r\n")            // 1
	deliver("")                                                             // untested: 0
	deliver("X-Virus-Status: Infected (Eicar-Test-Signature)\r\nX-Spam-Score: 0\r\n")
	deliver("X-Virus-Status: Clean\r\nX-Spam-Score: 0\r\n") // INBOX
	deliver("X-Spam-Score: 0\r\nList-Id: <l.example>\r\n")  // global include
	for box, want := range map[string]uint32{"Junk": 2, "INBOX": 3, "Untested": 1, "Lists": 1, "Quarantine": 1} {
		if n := mailboxCount(t, st, "alice@example.com", box); n != want {
			t.Errorf("%s has %d messages, want %d", box, n, want)
		}
	}
}
