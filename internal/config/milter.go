package config

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/mailroom/mailroom/milter"
)

// MaxMilters bounds the [[milters]] entries.
const MaxMilters = 8

// Milter is one [[milters]] entry: a content filter speaking the milter
// protocol (Rspamd's proxy worker with milter = yes, ...), applied in the
// order of the file on the listeners it names.
type Milter struct {
	// Address is "inet:host:port" or "unix:/path".
	Address string `toml:"address"`
	// ConnectTimeout bounds connecting and the protocol negotiation;
	// default 10s.
	ConnectTimeout Duration `toml:"connect_timeout"`
	// CommandTimeout bounds each exchange, the scan at the end of the
	// message included; default 60s.
	CommandTimeout Duration `toml:"command_timeout"`
	// OnError is what a milter that fails (unreachable, timeout,
	// protocol error) means: "tempfail" (default; 451 4.7.1) or
	// "accept" (mail goes on unfiltered for that connection).
	OnError string `toml:"on_error"`
	// Listeners the milter applies to: "smtp" (MX) and/or
	// "submission" (submission and smtps); default ["smtp"].
	Listeners []string `toml:"listeners"`
	// SpamHeader names the header field whose "Yes" from this milter
	// files the message in Junk (Rspamd: "X-Spam", its add header
	// action); "" none.
	SpamHeader string `toml:"spam_header"`
	// MaxHeaderBytes bounds the header bytes the milter may add or
	// change in one message; default 65536.
	MaxHeaderBytes int `toml:"max_header_bytes"`
}

// Milter listener names.
const (
	MilterSMTP       = "smtp"
	MilterSubmission = "submission"
)

func validateMilters(ms []Milter) []error {
	var errs []error
	if len(ms) > MaxMilters {
		errs = append(errs, fmt.Errorf("milters: %d entries, at most %d allowed", len(ms), MaxMilters))
	}
	for i, m := range ms {
		if _, _, err := milter.ParseAddress(m.Address); err != nil {
			errs = append(errs, fmt.Errorf("milters[%d]: %w", i, err))
		}
		switch m.OnError {
		case "", "tempfail", "accept":
		default:
			errs = append(errs, fmt.Errorf("milters[%d].on_error %q: want tempfail or accept", i, m.OnError))
		}
		for _, l := range m.Listeners {
			if l != MilterSMTP && l != MilterSubmission {
				errs = append(errs, fmt.Errorf("milters[%d].listeners: %q, want smtp or submission", i, l))
			}
		}
		for key, d := range map[string]time.Duration{"connect_timeout": m.ConnectTimeout.Duration, "command_timeout": m.CommandTimeout.Duration} {
			if d < 0 || d > 10*time.Minute {
				errs = append(errs, fmt.Errorf("milters[%d].%s must be between 0 (default) and 10m", i, key))
			}
		}
		if m.MaxHeaderBytes < 0 || m.MaxHeaderBytes > 1<<20 {
			errs = append(errs, fmt.Errorf("milters[%d].max_header_bytes must be between 0 (default) and 1048576", i))
		}
	}
	return errs
}

// MilterChain builds the milter chain of a listener ("smtp" or
// "submission"); nil when no milter applies to it.
func (c *Config) MilterChain(listener string, log *slog.Logger, m milter.Metrics) (*milter.Chain, error) {
	var cfgs []milter.Config
	for _, ms := range c.Milters {
		listeners := ms.Listeners
		if len(listeners) == 0 {
			listeners = []string{MilterSMTP}
		}
		applies := false
		for _, l := range listeners {
			applies = applies || l == listener
		}
		if !applies {
			continue
		}
		cfgs = append(cfgs, milter.Config{
			Address:        ms.Address,
			ConnectTimeout: ms.ConnectTimeout.Duration,
			CommandTimeout: ms.CommandTimeout.Duration,
			OnErrorAccept:  ms.OnError == "accept",
			SpamHeader:     ms.SpamHeader,
			MaxHeaderBytes: ms.MaxHeaderBytes,
		})
	}
	if len(cfgs) == 0 {
		return nil, nil
	}
	ch, err := milter.NewChain(cfgs, log, m)
	if err != nil {
		return nil, errors.Join(fmt.Errorf("milters for %s", listener), err)
	}
	return ch, nil
}
