package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDatabaseKey(t *testing.T) {
	dir := t.TempDir()
	load := func(value string) (Config, error) {
		t.Helper()
		path := filepath.Join(dir, "mailroom.toml")
		if err := os.WriteFile(path, []byte("database = "+value+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		return Load(path)
	}
	if c := Default(); c.Database != "" || c.UsesPostgres() {
		t.Fatalf("default database %q: want the embedded SQLite", c.Database)
	}
	for _, url := range []string{"postgres://u:p@db.example.net/mail", "postgresql://db/mail?sslmode=require"} {
		c, err := load(`"` + url + `"`)
		if err != nil || c.Database != url || !c.UsesPostgres() {
			t.Errorf("database = %q: %+v, %v", url, c.Database, err)
		}
	}
	if _, err := load(`"mysql://db/mail"`); err == nil || !strings.Contains(err.Error(), "postgres://") {
		t.Errorf("database = mysql://...: err %v, want a hint at postgres://", err)
	}
}
