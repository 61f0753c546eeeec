// Package config holds mailroom's typed configuration: defaults, the TOML
// file (--config) and command-line flags, applied in that order. There is no
// global configuration: the CLI builds a Config and passes its parts to the
// servers.
package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// Config is every setting of `mailroom serve`. Each field has a TOML key
// (shown in the tags) and most have a flag of the same name.
type Config struct {
	// DataDir holds the SQLite store (mailroom.db) and, later, keys and
	// certificates. Relative paths are relative to the working directory.
	DataDir string `toml:"data"`
	// Database selects the store: "" is the embedded SQLite file in
	// DataDir; a postgres:// (or postgresql://) URL is a PostgreSQL
	// database that several mailroom nodes may share.
	Database string `toml:"database"`
	// SpoolDir holds incoming SMTP messages larger than 1 MiB while they
	// stream in (unlinked temporary files, gone when the transaction
	// ends); "" is <data>/spool. Relative paths in the config file are
	// relative to the file.
	SpoolDir string `toml:"spool_dir"`
	// Hostname is announced in greetings and trace headers.
	Hostname string `toml:"hostname"`

	// Listener addresses; "" disables a listener.
	SMTP       string `toml:"smtp"`       // MX: mail for local domains, no auth needed
	Submission string `toml:"submission"` // RFC 6409: authenticated users only
	POP3       string `toml:"pop3"`
	IMAP       string `toml:"imap"`
	// ManageSieve (RFC 5804) for Sieve script upload.
	ManageSieve string `toml:"managesieve"`

	// LogLevel is debug, info, warn or error. debug logs protocol traces
	// (credentials hidden).
	LogLevel string `toml:"log_level"`
	// LogFormat is text (logfmt, slog's TextHandler) or json (one JSON
	// object a line, slog's JSONHandler).
	LogFormat string `toml:"log_format"`

	Limits Limits `toml:"limits"`
	Quota  Quota  `toml:"quota"` // per-account storage limits (quota.go)
	SRS    SRS    `toml:"srs"`   // sender rewriting for forwarded mail (srs.go)
	// OutboundLimits bound each account's submissions (outboundlimits.go).
	OutboundLimits OutboundLimits `toml:"outbound_limits"`
	// Store is the [store] table: how the store commits (store.go).
	Store StoreSettings `toml:"store"`

	Outbound     // relay_host, dns_server, [queue] … (outbound.go)
	Security     // smtps, pop3s, imaps, tls_cert, acme, allow_plaintext_auth … (security.go)
	Aliasing     // recipient_delimiter, [aliases] (aliases.go)
	HTTPSettings // http, https, metrics_allow, mta_sts_mode … (http.go)
	WebAdmin     // admins, web_session_idle, … (webadmin.go)
	Filtering    // sieve_before, sieve_after (sieve.go)

	// Milters are content filters speaking the milter protocol
	// ([[milters]], milter.go), in order.
	Milters []Milter `toml:"milters"`
	// DNSBL is the [dnsbl] table: DNS blocklists (dnsbl.go).
	DNSBL DNSBL `toml:"dnsbl"`
	// Greylist is the [greylist] table (dnsbl.go); off by default.
	Greylist Greylist `toml:"greylist"`
	// Rspamd is the [rspamd] table: spam learning through Rspamd's
	// controller (rspamd.go); off by default.
	Rspamd Rspamd `toml:"rspamd"`
	// ClientChecks is the [client_checks] table: reverse DNS and HELO
	// checks on the MX listener (clientchecks.go); off by default.
	ClientChecks ClientChecks `toml:"client_checks"`
}

// Limits bound what clients may send and how long they may idle.
type Limits struct {
	MaxMessageBytes    int64    `toml:"max_message_bytes"`    // SMTP SIZE, IMAP APPENDLIMIT
	MaxRecipients      int      `toml:"max_recipients"`       // per SMTP transaction
	SMTPLineLength     int      `toml:"smtp_max_line_length"` // RFC 5321 §4.5.3.1.6 minimum is 1000
	SMTPCommandTimeout Duration `toml:"smtp_command_timeout"` // RFC 5321 §4.5.3.2: 5 min
	SMTPDataTimeout    Duration `toml:"smtp_data_timeout"`    // RFC 5321 §4.5.3.2.6: 10 min
	// SMTPGreetPause delays the MX greeting and refuses clients that
	// speak before it (early talkers, 554 5.5.1); 0 (default) is off.
	SMTPGreetPause Duration `toml:"smtp_greet_pause"`
	// SMTPMaxInFlightBytes bounds the message bytes all SMTP sessions
	// (MX and submission together) hold at once: SIZE= announced at MAIL
	// plus what is received beyond it. Over it: 452 4.3.1.
	SMTPMaxInFlightBytes int64    `toml:"smtp_max_in_flight_bytes"`
	POP3IdleTimeout      Duration `toml:"pop3_idle_timeout"` // RFC 1939 §3: at least 10 min
	IMAPIdleTimeout      Duration `toml:"imap_idle_timeout"` // RFC 9051 §5.4: at least 30 min
	IMAPMaxLineLength    int      `toml:"imap_max_line_length"`
	IMAPLimits                    // imap_max_command_bytes, imap_max_append_* … (imaplimits.go)
	ManageSieveLimits             // managesieve_idle_timeout, sieve_max_scripts … (managesieve.go)
	// Connections per listener, in total and from one client IP; more
	// are answered with a temporary error and closed.
	MaxConnections      int `toml:"max_connections"`
	MaxConnectionsPerIP int `toml:"max_connections_per_ip"`
	// Listener overrides both per listener ([limits.listener.imap] ...;
	// connlimits.go).
	Listener map[string]ListenerLimits `toml:"listener"`

	// TLSHandshakeTimeout bounds every TLS handshake (implicit-TLS
	// listeners before the greeting, STARTTLS/STLS) so that silent or
	// half-open clients cannot hold connection slots.
	TLSHandshakeTimeout Duration `toml:"tls_handshake_timeout"`
	// Failed logins (auth.Limits): per client IP (IPv6: /64) and, from
	// IPs without a recent successful login for the account, per
	// account, within LoginFailureWindow; past a limit such attempts
	// are refused (temporary failure) until failures age out.
	LoginFailuresPerIP      int      `toml:"login_failures_per_ip"`
	LoginFailuresPerAccount int      `toml:"login_failures_per_account"`
	LoginFailureWindow      Duration `toml:"login_failure_window"`
	// Verified-credential cache (auth.CacheConfig, Dovecot's
	// auth_cache): a successful password login is remembered as a keyed
	// hash for AuthCacheTTL (0: off), at most AuthCacheSize entries
	// (least recently used dropped first), so repeat logins skip argon2id.
	AuthCacheTTL  Duration `toml:"auth_cache_ttl"`
	AuthCacheSize int      `toml:"auth_cache_size"`

	// GCHeapFloorBytes is the heap size below which no garbage collection
	// starts (internal/gcfloor): reading message bodies makes garbage of
	// their size, and a small live heap would collect every 4 MB. The
	// heap holds at most about this much more garbage; 0 is off.
	GCHeapFloorBytes int64 `toml:"gc_heap_floor_bytes"`
}

// Duration is a time.Duration written in TOML as a string ("10m", "30s").
type Duration struct{ time.Duration }

// UnmarshalText parses a Go duration string.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return err
	}
	d.Duration = v
	return nil
}

// MarshalText formats the duration the way UnmarshalText reads it.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// Default returns the zero-configuration settings: data in ./mailroom-data,
// every listener on 127.0.0.1 with unprivileged ports.
func Default() Config {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "localhost"
	}
	return Config{
		DataDir:    "mailroom-data",
		Hostname:   host,
		SMTP:       "127.0.0.1:2525",
		Submission: "127.0.0.1:2587",
		POP3:       "127.0.0.1:2110",
		IMAP:       "127.0.0.1:2143",

		ManageSieve:    "127.0.0.1:4190",
		LogLevel:       "info",
		LogFormat:      "text",
		Outbound:       DefaultOutbound(),
		Security:       DefaultSecurity(),
		Aliasing:       DefaultAliasing(),
		Greylist:       DefaultGreylist(),
		SRS:            DefaultSRS(),
		OutboundLimits: DefaultOutboundLimits(),

		HTTPSettings: DefaultHTTPSettings(),
		WebAdmin:     DefaultWebAdmin(),
		Limits: Limits{
			MaxMessageBytes:      50 << 20,
			MaxRecipients:        100,
			SMTPLineLength:       4096,
			SMTPCommandTimeout:   Duration{5 * time.Minute},
			SMTPDataTimeout:      Duration{10 * time.Minute},
			SMTPMaxInFlightBytes: 1 << 30,
			GCHeapFloorBytes:     32 << 20,
			POP3IdleTimeout:      Duration{10 * time.Minute},
			IMAPIdleTimeout:      Duration{30 * time.Minute},
			IMAPMaxLineLength:    64 << 10,
			IMAPLimits:           DefaultIMAPLimits(),
			ManageSieveLimits:    DefaultManageSieveLimits(),

			MaxConnections:      1000,
			MaxConnectionsPerIP: 20,

			TLSHandshakeTimeout:     Duration{30 * time.Second},
			LoginFailuresPerIP:      30,
			LoginFailuresPerAccount: 30,
			LoginFailureWindow:      Duration{15 * time.Minute},
			AuthCacheTTL:            Duration{5 * time.Minute},
			AuthCacheSize:           10000,
		},
	}
}

// Load reads the TOML file at path over Default(). Keys absent from the
// file keep their defaults; unknown keys are an error, so typos do not pass
// silently. A relative data directory in the file is relative to the file.
func Load(path string) (Config, error) {
	c := Default()
	if path == "" {
		return c, nil
	}
	md, err := toml.DecodeFile(path, &c)
	if err != nil {
		return c, fmt.Errorf("config %s: %w", path, err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		return c, fmt.Errorf("config %s: unknown key %q", path, und[0].String())
	}
	if md.IsDefined("data") && !filepath.IsAbs(c.DataDir) {
		c.DataDir = filepath.Join(filepath.Dir(path), c.DataDir)
	}
	if c.SpoolDir != "" && !filepath.IsAbs(c.SpoolDir) {
		c.SpoolDir = filepath.Join(filepath.Dir(path), c.SpoolDir)
	}
	c.Security.resolvePaths(filepath.Dir(path))
	c.Filtering.resolvePaths(filepath.Dir(path))
	return c, c.Validate()
}

// Validate checks values a server cannot run with.
func (c *Config) Validate() error {
	var errs []error
	if c.DataDir == "" {
		errs = append(errs, errors.New("data directory must not be empty"))
	}
	if c.Hostname == "" {
		errs = append(errs, errors.New("hostname must not be empty"))
	}
	if c.Database != "" && !c.UsesPostgres() {
		errs = append(errs, errors.New("database must be empty (SQLite in the data directory) or a postgres:// URL"))
	}
	l := c.Limits
	if l.MaxMessageBytes <= 0 {
		errs = append(errs, errors.New("limits.max_message_bytes must be positive"))
	}
	if l.MaxRecipients <= 0 {
		errs = append(errs, errors.New("limits.max_recipients must be positive"))
	}
	if l.SMTPMaxInFlightBytes < l.MaxMessageBytes {
		errs = append(errs, errors.New("limits.smtp_max_in_flight_bytes must be at least limits.max_message_bytes"))
	}
	if l.SMTPLineLength < 1000 {
		errs = append(errs, errors.New("limits.smtp_max_line_length must be at least 1000 (RFC 5321 §4.5.3.1.6)"))
	}
	if d := l.SMTPGreetPause.Duration; d < 0 || d > 30*time.Second {
		errs = append(errs, errors.New("limits.smtp_greet_pause must be between 0 (off) and 30s"))
	}
	if l.POP3IdleTimeout.Duration < 10*time.Minute {
		errs = append(errs, errors.New("limits.pop3_idle_timeout must be at least 10m (RFC 1939 §3)"))
	}
	if l.IMAPIdleTimeout.Duration < 30*time.Minute {
		errs = append(errs, errors.New("limits.imap_idle_timeout must be at least 30m (RFC 9051 §5.4)"))
	}
	if l.MaxConnections <= 0 || l.MaxConnectionsPerIP <= 0 {
		errs = append(errs, errors.New("limits.max_connections and limits.max_connections_per_ip must be positive"))
	}
	errs = append(errs, l.validateIMAP()...)
	errs = append(errs, l.validateManageSieve()...)
	if d := l.TLSHandshakeTimeout.Duration; d < time.Second || d > 5*time.Minute {
		errs = append(errs, errors.New("limits.tls_handshake_timeout must be between 1s and 5m"))
	}
	if l.LoginFailuresPerIP <= 0 || l.LoginFailuresPerAccount <= 0 {
		errs = append(errs, errors.New("limits.login_failures_per_ip and limits.login_failures_per_account must be positive"))
	}
	if l.LoginFailureWindow.Duration < time.Minute {
		errs = append(errs, errors.New("limits.login_failure_window must be at least 1m"))
	}
	if l.AuthCacheTTL.Duration < 0 || l.AuthCacheTTL.Duration > 24*time.Hour {
		errs = append(errs, errors.New("limits.auth_cache_ttl must be between 0 (off) and 24h"))
	}
	if l.GCHeapFloorBytes < 0 || l.GCHeapFloorBytes > 4<<30 {
		errs = append(errs, errors.New("limits.gc_heap_floor_bytes must be between 0 (off) and 4 GiB"))
	}
	if l.AuthCacheSize < 1 || l.AuthCacheSize > 1000000 {
		errs = append(errs, errors.New("limits.auth_cache_size must be between 1 and 1000000"))
	}
	errs = append(errs, l.validateListeners()...)
	errs = append(errs, c.Outbound.validate()...)
	errs = append(errs, c.Security.validate()...)
	errs = append(errs, c.Quota.validate()...)
	errs = append(errs, c.SRS.validate()...)
	errs = append(errs, c.OutboundLimits.validate()...)
	errs = append(errs, c.Aliasing.validate()...)
	errs = append(errs, c.HTTPSettings.validate()...)
	errs = append(errs, c.WebAdmin.validate()...)
	errs = append(errs, c.Filtering.validate()...)
	errs = append(errs, validateMilters(c.Milters)...)
	errs = append(errs, c.DNSBL.validate()...)
	errs = append(errs, c.Greylist.validate()...)
	errs = append(errs, c.Rspamd.validate()...)
	errs = append(errs, c.ClientChecks.validate()...)
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("log_level %q: want debug, info, warn or error", c.LogLevel))
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		errs = append(errs, fmt.Errorf("log_format %q: want text or json", c.LogFormat))
	}
	return errors.Join(errs...)
}

// UsesPostgres reports whether Database names a PostgreSQL database.
func (c *Config) UsesPostgres() bool {
	return strings.HasPrefix(c.Database, "postgres://") || strings.HasPrefix(c.Database, "postgresql://")
}

// SpoolPath is where the SMTP servers spool incoming messages.
func (c *Config) SpoolPath() string {
	if c.SpoolDir != "" {
		return c.SpoolDir
	}
	return filepath.Join(c.DataDir, "spool")
}

// DBPath is the SQLite database file inside the data directory.
func (c *Config) DBPath() string { return filepath.Join(c.DataDir, "mailroom.db") }
