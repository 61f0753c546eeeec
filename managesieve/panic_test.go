package managesieve

import (
	"context"
	"testing"

	"github.com/mailroom/mailroom/store"
)

// panicStore panics in SieveScripts (LISTSCRIPTS).
type panicStore struct{ Store }

func (panicStore) SieveScripts(context.Context, int64) ([]store.SieveScript, error) {
	panic("boom")
}

// A panic in a session ends that session with a BYE; the server and
// other sessions go on.
func TestPanicRecovery(t *testing.T) {
	t.Parallel()
	ts := startServer(t, func(c *Config) { c.Store = panicStore{c.Store} })
	c := ts.session(t)
	if r := c.cmd("LISTSCRIPTS"); r.kind != "BYE" || r.text != "internal error" {
		t.Fatalf("after a panic: %v", r)
	}
	other := ts.session(t)
	if r := other.expect("NO", `GETSCRIPT "x"`); r.code != codeNonexistent {
		t.Fatalf("another session after the panic: %v", r)
	}
}
