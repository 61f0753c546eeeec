package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mailroom/mailroom/sieve"
)

func TestSieveBeforeAfter(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("spam.sieve", "require \"fileinto\";\nif header :is \"X-Spam\" \"yes\" { fileinto \"Junk\"; }\n")
	write("bad.sieve", "keep;\nfrobnicate;\n")
	write("mailroom.toml", "sieve_before = [\"spam.sieve\"]\nsieve_after = [\"bad.sieve\"]\n")
	c, err := Load(filepath.Join(dir, "mailroom.toml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.SieveBefore) != 1 || c.SieveBefore[0] != filepath.Join(dir, "spam.sieve") {
		t.Fatalf("sieve_before %q: relative to the config file", c.SieveBefore)
	}
	_, _, err = c.Filtering.CompileSieve(sieve.Limits{})
	if err == nil || !strings.Contains(err.Error(), "bad.sieve") || !strings.Contains(err.Error(), "line 2") {
		t.Fatalf("CompileSieve = %v, want bad.sieve's line 2", err)
	}
	c.SieveAfter = nil
	before, after, err := c.Filtering.CompileSieve(sieve.Limits{})
	if err != nil || len(before) != 1 || len(after) != 0 {
		t.Fatalf("CompileSieve = %d, %d, %v", len(before), len(after), err)
	}
	if len(Default().SieveBefore)+len(Default().SieveAfter) != 0 {
		t.Fatal("global sieve scripts by default")
	}
	c.SieveBefore = make([]string, MaxGlobalSieveScripts+1)
	if err := c.Validate(); err == nil {
		t.Fatal("Validate accepted too many (and empty) sieve_before paths")
	}
}
