package main

import (
	"strings"
	"testing"
)

// domain and alias add/list/delete against a data directory, with the
// store's typed errors as readable messages and usage errors as exit 2.
func TestDomainAliasCommands(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	data := "--data=" + dir
	run := func(wantCode int, args ...string) string {
		t.Helper()
		code, out, errOut := runInProcess(t, append(args, data)...)
		if code != wantCode {
			t.Fatalf("%v: exit %d, want %d; stdout %q stderr %q", args, code, wantCode, out, errOut)
		}
		return out + errOut
	}
	if out := run(0, "domain", "add", "Example.NET"); out != "added example.net\n" {
		t.Fatalf("domain add: %q", out)
	}
	if out := run(1, "domain", "add", "example.net"); !strings.Contains(out, "domain example.net already exists") {
		t.Fatalf("domain add twice: %q", out)
	}
	run(1, "domain", "add", "../etc")
	run(0, "domain", "add", "a.example")
	if out := run(0, "domain", "list"); out != "a.example\nexample.net\n" {
		t.Fatalf("domain list: %q", out)
	}
	run(0, "domain", "delete", "a.example")
	if out := run(1, "domain", "delete", "a.example"); !strings.Contains(out, "no such domain a.example") {
		t.Fatalf("domain delete twice: %q", out)
	}
	run(2, "domain", "add")
	run(2, "domain", "list", "x")
	run(2, "domain", "rename", "x")

	if out := run(0, "alias", "add", "Sales@example.net", "alice@example.net", "bob@remote.test"); out != "added sales@example.net -> alice@example.net, bob@remote.test\n" {
		t.Fatalf("alias add: %q", out)
	}
	run(0, "alias", "add", "@example.net", "alice@example.net")
	if out := run(1, "alias", "add", "x@example.net", "not-an-address"); !strings.Contains(out, `target "not-an-address" is not an address`) {
		t.Fatalf("alias add of a bad target: %q", out)
	}
	if out := run(0, "alias", "list"); out != "@example.net alice@example.net\nsales@example.net alice@example.net bob@remote.test\n" {
		t.Fatalf("alias list: %q", out)
	}
	run(0, "alias", "delete", "sales@example.net")
	if out := run(1, "alias", "delete", "sales@example.net"); !strings.Contains(out, "no such alias sales@example.net") {
		t.Fatalf("alias delete twice: %q", out)
	}
	run(2, "alias", "add", "x@example.net")
	run(2, "alias")
}
