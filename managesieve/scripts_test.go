package managesieve

import (
	"strings"
	"testing"
)

const scriptA = "require \"fileinto\";\r\nif header :contains \"subject\" \"x\" { fileinto \"X\"; }\r\n"

func TestPutGetListScripts(t *testing.T) {
	t.Parallel()
	ts := startServer(t, nil)
	c := ts.session(t)
	if r := c.expect("OK", "LISTSCRIPTS"); len(r.lines) != 0 {
		t.Fatalf("fresh account lists %v", r.lines)
	}
	c.expect("OK", `PUTSCRIPT "a" `+literal(scriptA))
	c.expect("OK", `PUTSCRIPT "b b" "keep;"`)
	// A synchronizing literal is accepted too.
	c.expect("OK", "PUTSCRIPT {1}\r\nc {5}\r\nkeep;")
	r := c.expect("OK", "LISTSCRIPTS")
	if got := r.lines; len(got) != 3 || got[0][0] != "a" || got[1][0] != "b b" || got[2][0] != "c" || len(got[0]) != 1 {
		t.Fatalf("LISTSCRIPTS %v", got)
	}
	r = c.expect("OK", `GETSCRIPT "a"`)
	if len(r.lines) != 1 || len(r.lines[0]) != 1 || r.lines[0][0] != scriptA {
		t.Fatalf("GETSCRIPT %q", r.lines)
	}
	r = c.expect("NO", `GETSCRIPT "nope"`)
	if r.code != codeNonexistent {
		t.Errorf("GETSCRIPT missing: %v", r)
	}
	// Replacing keeps one script.
	c.expect("OK", `PUTSCRIPT "a" "discard;"`)
	if r := c.expect("OK", `GETSCRIPT "a"`); r.lines[0][0] != "discard;" {
		t.Errorf("replaced script %q", r.lines)
	}
	if r := c.expect("OK", "LISTSCRIPTS"); len(r.lines) != 3 {
		t.Errorf("after replace %v", r.lines)
	}
}

func TestPutScriptInvalid(t *testing.T) {
	t.Parallel()
	ts := startServer(t, nil)
	c := ts.session(t)
	r := c.expect("NO", `PUTSCRIPT "bad" `+literal("keep;\r\nfileinto \"x\";\r\n"))
	if !strings.HasPrefix(r.text, "line 2:") {
		t.Errorf("error without its line: %v", r)
	}
	r = c.expect("NO", `CHECKSCRIPT `+literal("if true {\r\n\r\n\r\nstop;\r\n"))
	if !strings.HasPrefix(r.text, "line ") {
		t.Errorf("CHECKSCRIPT error %v", r)
	}
	c.expect("OK", `CHECKSCRIPT "keep;"`)
	if r := c.expect("OK", "LISTSCRIPTS"); len(r.lines) != 0 {
		t.Errorf("invalid or checked scripts stored: %v", r.lines)
	}
	for _, name := range []string{`""`, `"a/b"`, literal("a\nb")} {
		c.expect("NO", `PUTSCRIPT `+name+` "keep;"`)
	}
}

func TestSetActiveDeleteRename(t *testing.T) {
	t.Parallel()
	ts := startServer(t, nil)
	c := ts.session(t)
	c.expect("OK", `PUTSCRIPT "one" "keep;"`)
	c.expect("OK", `PUTSCRIPT "two" "discard;"`)
	if r := c.expect("NO", `SETACTIVE "three"`); r.code != codeNonexistent {
		t.Errorf("SETACTIVE missing: %v", r)
	}
	c.expect("OK", `SETACTIVE "one"`)
	active := func() []string {
		var out []string
		for _, l := range c.expect("OK", "LISTSCRIPTS").lines {
			if len(l) == 2 && l[1] == "ACTIVE" {
				out = append(out, l[0])
			}
		}
		return out
	}
	if a := active(); len(a) != 1 || a[0] != "one" {
		t.Fatalf("active %v", a)
	}
	if sc, err := ts.st.ActiveSieveScript(t.Context(), ts.acct.ID); err != nil || sc.Name != "one" {
		t.Fatalf("store's active script %v, %v", sc.Name, err)
	}
	if r := c.expect("NO", `DELETESCRIPT "one"`); r.code != codeActive {
		t.Errorf("DELETESCRIPT active: %v", r)
	}
	if r := c.expect("NO", `DELETESCRIPT "nope"`); r.code != codeNonexistent {
		t.Errorf("DELETESCRIPT missing: %v", r)
	}
	if r := c.expect("NO", `RENAMESCRIPT "one" "two"`); r.code != codeAlreadyExists {
		t.Errorf("RENAMESCRIPT onto existing: %v", r)
	}
	if r := c.expect("NO", `RENAMESCRIPT "one" "one"`); r.code != codeAlreadyExists {
		t.Errorf("RENAMESCRIPT onto itself: %v", r)
	}
	if r := c.expect("NO", `RENAMESCRIPT "nope" "x"`); r.code != codeNonexistent {
		t.Errorf("RENAMESCRIPT missing: %v", r)
	}
	c.expect("OK", `RENAMESCRIPT "one" "uno"`)
	if a := active(); len(a) != 1 || a[0] != "uno" {
		t.Fatalf("active after rename %v", a)
	}
	if r := c.expect("OK", `GETSCRIPT "uno"`); r.lines[0][0] != "keep;" {
		t.Errorf("renamed script %q", r.lines)
	}
	c.expect("NO", `GETSCRIPT "one"`)
	c.expect("OK", `DELETESCRIPT "two"`)
	c.expect("OK", `SETACTIVE ""`)
	if a := active(); len(a) != 0 {
		t.Errorf("active after SETACTIVE \"\": %v", a)
	}
	c.expect("OK", `DELETESCRIPT "uno"`)
	if r := c.expect("OK", "LISTSCRIPTS"); len(r.lines) != 0 {
		t.Errorf("left %v", r.lines)
	}
}

func TestQuotas(t *testing.T) {
	t.Parallel()
	ts := startServer(t, func(c *Config) { c.MaxScripts = 2; c.MaxScriptSize = 100 })
	c := ts.session(t)
	c.expect("OK", `HAVESPACE "a" 100`)
	if r := c.expect("NO", `HAVESPACE "a" 101`); r.code != codeQuotaMaxSize {
		t.Errorf("HAVESPACE over size: %v", r)
	}
	c.expect("NO", `HAVESPACE "a" "100"`) // size is a number
	c.expect("OK", `PUTSCRIPT "a" "keep;"`)
	c.expect("OK", `PUTSCRIPT "b" "keep;"`)
	if r := c.expect("NO", `HAVESPACE "c" 10`); r.code != codeQuotaMaxScript {
		t.Errorf("HAVESPACE over count: %v", r)
	}
	c.expect("OK", `HAVESPACE "b" 10`) // a replacement
	if r := c.expect("NO", `PUTSCRIPT "c" "keep;"`); r.code != codeQuotaMaxScript {
		t.Errorf("PUTSCRIPT over count: %v", r)
	}
	big := strings.Repeat("#", 200) + "\r\nkeep;"
	if r := c.expect("NO", `PUTSCRIPT "b" `+literal(big)); r.code != codeQuotaMaxSize {
		t.Errorf("PUTSCRIPT over size: %v", r)
	}
	// A literal far over the limit is skipped, not kept: the session
	// goes on at the next command.
	huge := strings.Repeat("x", 1<<20)
	if r := c.expect("NO", `PUTSCRIPT "b" `+literal(huge)); r.code != codeQuotaMaxSize {
		t.Errorf("huge literal: %v", r)
	}
	c.expect("OK", "NOOP")
	if r := c.expect("OK", `GETSCRIPT "b"`); r.lines[0][0] != "keep;" {
		t.Errorf("b changed: %q", r.lines)
	}
}

func TestNoopTag(t *testing.T) {
	t.Parallel()
	ts := startServer(t, nil)
	c := dial(t, ts.addr)
	c.greet()
	r := c.expect("OK", `NOOP "x\"y"`)
	if r.code != `TAG x"y` {
		t.Errorf("NOOP tag: %v", r)
	}
	c.expect("NO", `NOOP x`)
	c.expect("OK", "LOGOUT")
	if _, err := c.br.ReadByte(); err == nil {
		t.Error("connection open after LOGOUT")
	}
}
