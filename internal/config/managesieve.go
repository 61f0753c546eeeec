package config

import (
	"errors"
	"fmt"
	"time"

	"github.com/mailroom/mailroom/store"
)

// ManageSieveLimits are the ManageSieve (RFC 5804) bounds an admin may
// change, in [limits]. Bounds before login are fixed (1 KiB per line,
// 8 KiB per literal, 1 minute idle).
type ManageSieveLimits struct {
	// ManageSieveIdleTimeout closes an authenticated session idle for
	// so long.
	ManageSieveIdleTimeout Duration `toml:"managesieve_idle_timeout"`
	// ManageSieveMaxLineLength bounds one command after login,
	// literals (scripts) excepted.
	ManageSieveMaxLineLength int `toml:"managesieve_max_line_length"`
	// SieveMaxScripts bounds an account's Sieve scripts (QUOTA/MAXSCRIPTS).
	SieveMaxScripts int `toml:"sieve_max_scripts"`
	// SieveMaxScriptBytes bounds one Sieve script (QUOTA/MAXSIZE), over
	// ManageSieve and at compile time.
	SieveMaxScriptBytes int `toml:"sieve_max_script_bytes"`
	// Evaluation bounds of every script at delivery (package sieve):
	// actions, redirects, steps (commands, tests, comparisons, KiB
	// scanned) and wall-clock time, store lookups included.
	SieveMaxActions   int      `toml:"sieve_max_actions"`
	SieveMaxRedirects int      `toml:"sieve_max_redirects"`
	SieveMaxSteps     int      `toml:"sieve_max_steps"`
	SieveTimeout      Duration `toml:"sieve_timeout"`
}

// DefaultManageSieveLimits returns the ManageSieveLimits defaults.
func DefaultManageSieveLimits() ManageSieveLimits {
	return ManageSieveLimits{
		ManageSieveIdleTimeout:   Duration{30 * time.Minute},
		ManageSieveMaxLineLength: 8 << 10,
		SieveMaxScripts:          store.MaxSieveScripts,
		SieveMaxScriptBytes:      store.MaxSieveScriptSize,
		SieveMaxActions:          32,
		SieveMaxRedirects:        4,
		SieveMaxSteps:            100000,
		SieveTimeout:             Duration{10 * time.Second},
	}
}

func (l *Limits) validateManageSieve() []error {
	var errs []error
	if l.ManageSieveIdleTimeout.Duration < time.Minute {
		errs = append(errs, errors.New("limits.managesieve_idle_timeout must be at least 1m"))
	}
	if l.ManageSieveMaxLineLength < 1024 {
		errs = append(errs, errors.New("limits.managesieve_max_line_length must be at least 1024"))
	}
	if l.SieveMaxScripts < 1 || l.SieveMaxScripts > store.MaxSieveScripts {
		errs = append(errs, fmt.Errorf("limits.sieve_max_scripts must be between 1 and %d", store.MaxSieveScripts))
	}
	if l.SieveMaxScriptBytes < 1024 || l.SieveMaxScriptBytes > store.MaxSieveScriptSize {
		errs = append(errs, fmt.Errorf("limits.sieve_max_script_bytes must be between 1024 and %d", store.MaxSieveScriptSize))
	}
	if l.SieveMaxActions < 1 || l.SieveMaxRedirects < 1 || l.SieveMaxSteps < 1000 {
		errs = append(errs, errors.New("limits.sieve_max_actions must be at least 1, sieve_max_redirects at least 1, sieve_max_steps at least 1000"))
	}
	if d := l.SieveTimeout.Duration; d < 100*time.Millisecond || d > 5*time.Minute {
		errs = append(errs, errors.New("limits.sieve_timeout must be between 100ms and 5m"))
	}
	return errs
}
