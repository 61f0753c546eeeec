package managesieve

import "testing"

// SetLimits (a config reload) applies to sessions opened afterwards:
// the new script count and size quotas answer HAVESPACE, while a
// session opened before keeps the limits it started with.
func TestSetLimitsAppliesToNewSessions(t *testing.T) {
	t.Parallel()
	ts := startServer(t, func(c *Config) { c.MaxScripts = 5; c.MaxScriptSize = 1000 })
	old := ts.session(t)

	ts.srv.SetLimits(Limits{MaxScripts: 1, MaxScriptSize: 100})

	c := ts.session(t)
	if r := c.expect("NO", `HAVESPACE "a" 101`); r.code != codeQuotaMaxSize {
		t.Errorf("HAVESPACE over the new size: %v", r)
	}
	c.expect("OK", `PUTSCRIPT "a" "keep;"`)
	if r := c.expect("NO", `PUTSCRIPT "b" "keep;"`); r.code != codeQuotaMaxScript {
		t.Errorf("PUTSCRIPT over the new count: %v", r)
	}
	old.expect("OK", `HAVESPACE "b" 500`)
	old.expect("OK", `PUTSCRIPT "b" "keep;"`)
}
