package config

import (
	"fmt"
	"strings"
	"time"
)

// WebAdmin configures the web admin (/admin/) and account (/account/)
// pages of the HTTP(S) listener (embedded in Config: top-level keys).
type WebAdmin struct {
	// Admins are the accounts that may sign in to /admin/; empty leaves
	// the admin pages without anyone who can sign in.
	Admins []string `toml:"admins"`
	// WebSessionIdle ends a session after this long without a request,
	// WebSessionMaxAge after this long in any case.
	WebSessionIdle   Duration `toml:"web_session_idle"`
	WebSessionMaxAge Duration `toml:"web_session_max_age"`
	// WebMaxSessions bounds the signed-in sessions held in memory.
	WebMaxSessions int `toml:"web_max_sessions"`
	// WebFormMaxBytes bounds the body of a form POST.
	WebFormMaxBytes int64 `toml:"web_form_max_bytes"`
}

// DefaultWebAdmin: no admins, 30 min idle, 12 h at most, 10,000 sessions,
// 64 KiB forms.
func DefaultWebAdmin() WebAdmin {
	return WebAdmin{
		WebSessionIdle:   Duration{30 * time.Minute},
		WebSessionMaxAge: Duration{12 * time.Hour},
		WebMaxSessions:   10000,
		WebFormMaxBytes:  64 << 10,
	}
}

func (w *WebAdmin) validate() []error {
	var errs []error
	for _, a := range w.Admins {
		if !validAddress(strings.ToLower(a)) {
			errs = append(errs, fmt.Errorf("admins: %q is not an address (local@domain)", a))
		}
	}
	if d := w.WebSessionIdle.Duration; d < time.Minute || d > 24*time.Hour {
		errs = append(errs, fmt.Errorf("web_session_idle %s: want 1m to 24h", d))
	}
	if d := w.WebSessionMaxAge.Duration; d < time.Minute || d > 30*24*time.Hour {
		errs = append(errs, fmt.Errorf("web_session_max_age %s: want 1m to 720h", d))
	}
	if n := w.WebMaxSessions; n < 1 || n > 1000000 {
		errs = append(errs, fmt.Errorf("web_max_sessions %d: want 1 to 1000000", n))
	}
	if n := w.WebFormMaxBytes; n < 1024 || n > 1<<20 {
		errs = append(errs, fmt.Errorf("web_form_max_bytes %d: want 1024 to 1048576", n))
	}
	return errs
}
