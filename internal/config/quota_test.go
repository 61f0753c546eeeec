package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func loadString(t *testing.T, text string) (Config, error) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "mailroom.toml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return Load(path)
}

func TestQuotaDefaultUnlimited(t *testing.T) {
	c := Default()
	if s, m := c.Quota.Limits("a@example.org"); s != 0 || m != 0 {
		t.Fatalf("default limits = %d, %d; want unlimited", s, m)
	}
	var nilQuota *Quota
	if s, m := nilQuota.Limits("a@example.org"); s != 0 || m != 0 {
		t.Fatalf("nil quota limits = %d, %d", s, m)
	}
}

func TestQuotaOverrides(t *testing.T) {
	c, err := loadString(t, `
[quota]
storage = 1000000
messages = 500

[quota.account."Big@Example.org"]
storage = 5000000

[quota.account."free@example.org"]
storage = 0
messages = 0
`)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		email             string
		storage, messages int64
	}{
		{"someone@example.org", 1000000, 500},
		{"big@example.org", 5000000, 500}, // messages keeps the default
		{"BIG@EXAMPLE.ORG", 5000000, 500},
		{"free@example.org", 0, 0},
	} {
		s, m := c.Quota.Limits(tc.email)
		if s != tc.storage || m != tc.messages {
			t.Errorf("Limits(%q) = %d, %d; want %d, %d", tc.email, s, m, tc.storage, tc.messages)
		}
	}
}

func TestQuotaValidate(t *testing.T) {
	for _, text := range []string{
		"[quota]\nstorage = -1\n",
		"[quota]\nmessages = -5\n",
		"[quota.account.\"a@example.org\"]\nstorage = -1\n",
		"[quota.account.\"nobody\"]\nstorage = 1\n",
		"[quota.account.\"a@example.org\"]\nstorage = 1\n[quota.account.\"A@example.org\"]\nstorage = 2\n",
		"[quota]\nstorag = 1\n",
	} {
		if _, err := loadString(t, text); err == nil {
			t.Errorf("Load(%q) succeeded; want an error", text)
		} else if !strings.Contains(err.Error(), "quota") && !strings.Contains(err.Error(), "storag") {
			t.Errorf("Load(%q): %v does not name the key", text, err)
		}
	}
}
