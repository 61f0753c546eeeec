package config

import (
	"fmt"
	"slices"
	"sort"
)

// ListenerNames are the listeners [limits.listener.NAME] may name.
var ListenerNames = []string{"smtp", "submission", "pop3", "imap", "smtps", "pop3s", "imaps", "managesieve", "http", "https"}

// ListenerLimits overrides the connection limits of one listener; a zero
// field keeps the [limits] value. IMAP usually needs more than SMTP:
// clients keep several connections open each, and IDLE holds them.
type ListenerLimits struct {
	MaxConnections      int `toml:"max_connections"`
	MaxConnectionsPerIP int `toml:"max_connections_per_ip"`
}

// ConnLimits returns the total and per-IP connection limits of listener
// name: its [limits.listener.NAME] values, else the [limits] ones.
func (l *Limits) ConnLimits(name string) (total, perIP int) {
	total, perIP = l.MaxConnections, l.MaxConnectionsPerIP
	if o, ok := l.Listener[name]; ok {
		if o.MaxConnections > 0 {
			total = o.MaxConnections
		}
		if o.MaxConnectionsPerIP > 0 {
			perIP = o.MaxConnectionsPerIP
		}
	}
	return total, perIP
}

func (l *Limits) validateListeners() []error {
	var errs []error
	names := make([]string, 0, len(l.Listener))
	for name := range l.Listener {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		o := l.Listener[name]
		if !slices.Contains(ListenerNames, name) {
			errs = append(errs, fmt.Errorf("limits.listener.%s: unknown listener (want one of %v)", name, ListenerNames))
		}
		if o.MaxConnections < 0 || o.MaxConnectionsPerIP < 0 {
			errs = append(errs, fmt.Errorf("limits.listener.%s: limits must not be negative", name))
		}
	}
	return errs
}
