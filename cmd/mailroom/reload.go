package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"os/signal"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/BurntSushi/toml"

	"github.com/mailroom/mailroom/auth"
	"github.com/mailroom/mailroom/delivery"
	"github.com/mailroom/mailroom/httpserver"
	"github.com/mailroom/mailroom/imapserver"
	"github.com/mailroom/mailroom/internal/config"
	"github.com/mailroom/mailroom/internal/connlimit"
	"github.com/mailroom/mailroom/managesieve"
	"github.com/mailroom/mailroom/pop3server"
	"github.com/mailroom/mailroom/queue"
	"github.com/mailroom/mailroom/smtpserver"
)

// live holds the reloadable policies the servers ask through interfaces
// each time they need them (every RCPT, APPEND, autoconfig request): a
// reload swaps the pointer, a reader sees the old table or the new one,
// never a mix.
type live struct {
	aliases atomic.Pointer[config.AliasTable]
	quota   atomic.Pointer[config.Quota]
}

func newLive(cfg config.Config) *live {
	l := &live{}
	l.set(cfg)
	return l
}

func (l *live) set(cfg config.Config) {
	q := cfg.Quota
	l.aliases.Store(cfg.Aliasing.Table())
	l.quota.Store(&q)
}

// liveAliases is the current [aliases] table.
type liveAliases struct{ l *live }

func (a liveAliases) AliasTargets(key string) ([]string, bool) {
	return a.l.aliases.Load().AliasTargets(key)
}

func (a liveAliases) AliasDomain(domain string) bool { return a.l.aliases.Load().AliasDomain(domain) }

// liveQuota is the current [quota] table.
type liveQuota struct{ l *live }

func (q liveQuota) Limits(email string) (storage, messages int64) {
	return q.l.quota.Load().Limits(email)
}

var (
	_ delivery.Aliases   = liveAliases{}
	_ smtpserver.Aliases = liveAliases{}
	_ delivery.Quota     = liveQuota{}
	_ imapserver.Quota   = liveQuota{}
)

// reloadable are the config keys (and tables, by prefix) a reload
// applies to the running server; any other key that changed is logged as
// needing a restart and keeps its running value.
var reloadable = []string{
	"log_level",
	"aliases",
	"quota",
	"relay_host", "relay_user", "relay_password",
	"metrics_allow", "metrics_token",
	"limits.max_message_bytes", "limits.max_recipients",
	"limits.login_failures_per_ip", "limits.login_failures_per_account", "limits.login_failure_window",
	"limits.imap_max_line_length", "limits.imap_max_command_bytes", "limits.imap_max_append_messages",
	"limits.imap_max_append_bytes", "limits.imap_max_mailboxes", "limits.imap_idle_timeout",
	"limits.imap_metadata_max_entry_name", "limits.imap_metadata_max_value_bytes", "limits.imap_metadata_max_entries",
	"limits.pop3_idle_timeout",
	"limits.smtp_max_line_length", "limits.smtp_command_timeout", "limits.smtp_data_timeout",
	"limits.max_connections", "limits.max_connections_per_ip", "limits.listener",
	"limits.managesieve_idle_timeout", "limits.managesieve_max_line_length",
	"limits.sieve_max_scripts", "limits.sieve_max_script_bytes",
	"store.sync_flag_changes",
}

// reloader re-reads the config file on SIGHUP and applies what can change
// while serve runs (see reloadable); the certificates are reloaded too.
type reloader struct {
	path     string               // the config file; "" for none
	override func(*config.Config) // the command-line flags, applied over the file
	log      *slog.Logger
	level    *slog.LevelVar
	live     *live
	smtp     []*smtpserver.Server
	imap     *imapserver.Server
	pop3     *pop3server.Server
	msieve   *managesieve.Server
	queue    *queue.Queue
	authn    *auth.Authenticator
	web      *httpserver.Server
	tls      func() error // nil: no certificate files to reload
	store    flagSyncer   // nil: a store without the setting

	mu      sync.Mutex
	cur     config.Config // what runs now
	maxSize int64         // limits.max_message_bytes at start: the SMTP commit budget's size
	// conns are the listeners' connection limits by listener name,
	// added as serve binds them (addListener).
	conns map[string]*connlimit.Listener
}

// addListener puts a listener's connection limits under reload,
// set from the running configuration.
func (r *reloader) addListener(name string, l *connlimit.Listener) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.conns == nil {
		r.conns = map[string]*connlimit.Listener{}
	}
	r.conns[name] = l
	l.SetLimits(r.cur.Limits.ConnLimits(name))
}

// reload loads the config file and applies it. A file that does not load
// or validate changes nothing.
func (r *reloader) reload() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.tls != nil {
		if err := r.tls(); err != nil {
			r.log.Error("tls reload failed; keeping the previous certificates", "component", "tls", "err", err)
		} else {
			r.log.Info("tls certificates reloaded", "component", "tls")
		}
	}
	next, err := config.Load(r.path)
	if err == nil {
		r.override(&next)
		err = next.Validate()
	}
	if err != nil {
		r.log.Error("config reload rejected; keeping the running configuration", "config", r.path, "err", err)
		return err
	}
	changed, err := changedKeys(r.cur, next)
	if err != nil {
		r.log.Error("config reload failed; keeping the running configuration", "err", err)
		return err
	}
	// Keys that need a restart keep their running values.
	apply := r.cur
	var applied []string
	for _, k := range changed {
		if isReloadable(k) {
			applied = append(applied, k)
			continue
		}
		r.log.Warn("config change needs restart; keeping the running value", "key", k)
	}
	apply.LogLevel = next.LogLevel
	apply.Aliasing.Aliases = next.Aliasing.Aliases
	apply.Quota = next.Quota
	apply.RelayHost, apply.RelayUser, apply.RelayPassword = next.RelayHost, next.RelayUser, next.RelayPassword
	apply.MetricsAllow, apply.MetricsToken = next.MetricsAllow, next.MetricsToken
	apply.Limits.MaxRecipients = next.Limits.MaxRecipients
	apply.Limits.LoginFailuresPerIP = next.Limits.LoginFailuresPerIP
	apply.Limits.LoginFailuresPerAccount = next.Limits.LoginFailuresPerAccount
	apply.Limits.LoginFailureWindow = next.Limits.LoginFailureWindow
	apply.Limits.IMAPMaxLineLength = next.Limits.IMAPMaxLineLength
	apply.Limits.IMAPLimits = next.Limits.IMAPLimits
	apply.Limits.IMAPIdleTimeout = next.Limits.IMAPIdleTimeout
	apply.Limits.POP3IdleTimeout = next.Limits.POP3IdleTimeout
	apply.Limits.SMTPLineLength = next.Limits.SMTPLineLength
	apply.Limits.SMTPCommandTimeout = next.Limits.SMTPCommandTimeout
	apply.Limits.SMTPDataTimeout = next.Limits.SMTPDataTimeout
	apply.Limits.MaxConnections = next.Limits.MaxConnections
	apply.Limits.MaxConnectionsPerIP = next.Limits.MaxConnectionsPerIP
	apply.Limits.Listener = next.Limits.Listener
	apply.Limits.ManageSieveIdleTimeout = next.Limits.ManageSieveIdleTimeout
	apply.Limits.ManageSieveMaxLineLength = next.Limits.ManageSieveMaxLineLength
	apply.Limits.SieveMaxScripts = next.Limits.SieveMaxScripts
	apply.Limits.SieveMaxScriptBytes = next.Limits.SieveMaxScriptBytes
	apply.Store.SyncFlagChanges = next.Store.SyncFlagChanges
	// The SMTP commit budget was sized for the limit at start: above it
	// a message could never commit.
	if next.Limits.MaxMessageBytes <= r.maxSize {
		apply.Limits.MaxMessageBytes = next.Limits.MaxMessageBytes
	} else {
		r.log.Warn("config change needs restart; keeping the running value", "key", "limits.max_message_bytes",
			"reason", "raised above its value at start")
	}
	if err := apply.Validate(); err != nil {
		// A reloadable key validated against keys that need a restart.
		r.log.Error("config reload rejected; keeping the running configuration", "config", r.path, "err", err)
		return err
	}
	r.apply(apply)
	r.cur = apply
	r.log.Info("config reloaded", "config", r.path, "applied", strings.Join(applied, " "))
	return nil
}

// apply hands the reloadable settings of cfg to their owners.
func (r *reloader) apply(cfg config.Config) {
	var lvl slog.Level
	_ = lvl.UnmarshalText([]byte(cfg.LogLevel)) // checked by Validate
	r.level.Set(lvl)
	r.live.set(cfg)
	lim := cfg.Limits
	for _, s := range r.smtp {
		s.SetLimits(smtpLimits(cfg))
	}
	r.imap.SetLimits(imapLimits(cfg))
	r.pop3.SetIdleTimeout(lim.POP3IdleTimeout.Duration)
	if r.msieve != nil {
		r.msieve.SetLimits(manageSieveLimits(cfg))
	}
	for name, l := range r.conns {
		l.SetLimits(lim.ConnLimits(name))
	}
	r.queue.SetRelay(queue.Relay{Host: cfg.RelayHost, User: cfg.RelayUser, Password: cfg.RelayPassword})
	r.authn.SetLimits(authLimits(cfg))
	if r.store != nil {
		r.store.SetSyncFlagChanges(cfg.Store.SyncFlagChanges)
	}
	allow, _ := cfg.MetricsPrefixes() // checked by Validate
	r.web.SetMetricsAccess(allow, cfg.MetricsToken)
}

// smtpLimits are the SMTP servers' reloadable limits in cfg.
func smtpLimits(cfg config.Config) smtpserver.Limits {
	lim := cfg.Limits
	return smtpserver.Limits{
		MaxMessageBytes: lim.MaxMessageBytes, MaxRecipients: lim.MaxRecipients, MaxLineLength: lim.SMTPLineLength,
		ReadTimeout: lim.SMTPCommandTimeout.Duration, WriteTimeout: lim.SMTPCommandTimeout.Duration,
		DataTimeout: lim.SMTPDataTimeout.Duration,
	}
}

// manageSieveLimits are the ManageSieve server's reloadable limits in cfg.
func manageSieveLimits(cfg config.Config) managesieve.Limits {
	lim := cfg.Limits
	return managesieve.Limits{
		IdleTimeout: lim.ManageSieveIdleTimeout.Duration, MaxLineLength: lim.ManageSieveMaxLineLength,
		MaxScripts: lim.SieveMaxScripts, MaxScriptSize: lim.SieveMaxScriptBytes,
	}
}

// imapLimits are the IMAP server's reloadable limits in cfg.
func imapLimits(cfg config.Config) imapserver.Limits {
	lim := cfg.Limits
	return imapserver.Limits{
		MaxLineLength: lim.IMAPMaxLineLength, MaxLiteralSize: lim.MaxMessageBytes, MaxCommandSize: lim.IMAPMaxCommandBytes,
		MaxAppendMessages: lim.IMAPMaxAppendMessages, MaxAppendBytes: lim.IMAPMaxAppendBytes,
		MaxMailboxes: lim.IMAPMaxMailboxes, IdleTimeout: lim.IMAPIdleTimeout.Duration,
		MetadataMaxEntryName: lim.IMAPMetadataMaxEntryName, MetadataMaxValueBytes: lim.IMAPMetadataMaxValueBytes,
		MetadataMaxEntries: lim.IMAPMetadataMaxEntries,
	}
}

// authLimits is the login throttling of cfg.
func authLimits(cfg config.Config) auth.Limits {
	return auth.Limits{
		FailuresPerIP:      cfg.Limits.LoginFailuresPerIP,
		FailuresPerAccount: cfg.Limits.LoginFailuresPerAccount,
		Window:             cfg.Limits.LoginFailureWindow.Duration,
	}
}

func isReloadable(key string) bool {
	for _, r := range reloadable {
		if key == r || strings.HasPrefix(key, r+".") {
			return true
		}
	}
	return false
}

// changedKeys lists the TOML keys whose values differ between a and b,
// tables flattened to dotted keys, sorted.
func changedKeys(a, b config.Config) ([]string, error) {
	fa, err := flatConfig(a)
	if err != nil {
		return nil, err
	}
	fb, err := flatConfig(b)
	if err != nil {
		return nil, err
	}
	var out []string
	for k, va := range fa {
		if vb, ok := fb[k]; !ok || !reflect.DeepEqual(va, vb) {
			out = append(out, k)
		}
	}
	for k := range fb {
		if _, ok := fa[k]; !ok {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// flatConfig is cfg as TOML, its tables flattened to dotted keys.
func flatConfig(cfg config.Config) (map[string]any, error) {
	var buf bytes.Buffer
	if err := toml.NewEncoder(&buf).Encode(cfg); err != nil {
		return nil, fmt.Errorf("encode config: %w", err)
	}
	var m map[string]any
	if _, err := toml.Decode(buf.String(), &m); err != nil {
		return nil, fmt.Errorf("decode config: %w", err)
	}
	out := map[string]any{}
	var walk func(prefix string, m map[string]any)
	walk = func(prefix string, m map[string]any) {
		for _, k := range slices.Sorted(maps.Keys(m)) {
			if sub, ok := m[k].(map[string]any); ok {
				walk(prefix+k+".", sub)
				continue
			}
			out[prefix+k] = m[k]
		}
	}
	walk("", m)
	return out, nil
}

// onSignal calls fn on every sig until ctx ends, so that sig never
// terminates the server (SIGHUP: reload; SIGUSR1: log the counters).
func onSignal(ctx context.Context, sig os.Signal, fn func()) {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, sig)
	go func() {
		defer signal.Stop(ch)
		for {
			select {
			case <-ctx.Done():
				return
			case <-ch:
				fn()
			}
		}
	}()
}
