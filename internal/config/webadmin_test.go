package config

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestWebAdminKeys(t *testing.T) {
	t.Parallel()
	d := Default()
	if len(d.Admins) != 0 || d.WebSessionIdle.Duration != 30*time.Minute || d.WebSessionMaxAge.Duration != 12*time.Hour || d.WebMaxSessions != 10000 || d.WebFormMaxBytes != 64<<10 {
		t.Fatalf("defaults %+v", d.WebAdmin)
	}
	path := filepath.Join(t.TempDir(), "c.toml")
	os.WriteFile(path, []byte(`admins = ["Alice@Example.org"]
web_session_idle = "5m"
web_session_max_age = "2h"
web_max_sessions = 50
web_form_max_bytes = 8192
`), 0o600)
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(c.Admins, []string{"Alice@Example.org"}) || c.WebSessionIdle.Duration != 5*time.Minute || c.WebSessionMaxAge.Duration != 2*time.Hour || c.WebMaxSessions != 50 || c.WebFormMaxBytes != 8192 {
		t.Fatalf("loaded %+v", c.WebAdmin)
	}
	for _, bad := range []struct{ toml, want string }{
		{`admins = ["not an address"]`, "admins"},
		{`web_session_idle = "1s"`, "web_session_idle"},
		{`web_session_max_age = "1000h"`, "web_session_max_age"},
		{`web_max_sessions = 0`, "web_max_sessions"},
		{`web_form_max_bytes = 10`, "web_form_max_bytes"},
		{`web_form_max_bytes = 100000000`, "web_form_max_bytes"},
	} {
		os.WriteFile(path, []byte(bad.toml+"\n"), 0o600)
		_, err := Load(path)
		if err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%s: %v", bad.toml, err)
		}
	}
}
