package config

// StoreSettings is the [store] table: how the store commits.
type StoreSettings struct {
	// SyncFlagChanges waits for the flush to disk (SQLite fsync,
	// PostgreSQL synchronous_commit) before a flag change (IMAP STORE,
	// FETCH's implicit \Seen, \Recent) is acknowledged, as every other
	// write does. Off by default, like Dovecot's index: such a commit is
	// in the OS's cache, which a killed process does not lose but a
	// power loss may (the last ones only; messages are always flushed).
	// Reloadable.
	SyncFlagChanges bool `toml:"sync_flag_changes"`
}
