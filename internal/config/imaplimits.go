package config

import "errors"

// IMAPLimits are the IMAP bounds an admin may change, in [limits] (see
// README, Security). Bounds before login are fixed (8 KiB per command,
// literal and AUTHENTICATE line), as are mailbox name length (1,024
// bytes), depth (16 levels), SEARCH keys (1,000) and LIST patterns (64).
type IMAPLimits struct {
	// IMAPMaxCommandBytes bounds one command after login, lines and
	// literals together, APPEND's messages excepted.
	IMAPMaxCommandBytes int64 `toml:"imap_max_command_bytes"`
	// IMAPMaxAppendMessages bounds the messages of one MULTIAPPEND
	// (RFC 3502).
	IMAPMaxAppendMessages int `toml:"imap_max_append_messages"`
	// IMAPMaxAppendBytes bounds the total size of one APPEND's messages,
	// which are held in memory until stored; at least max_message_bytes.
	IMAPMaxAppendBytes int64 `toml:"imap_max_append_bytes"`
	// IMAPMaxMailboxes bounds the mailboxes of one account.
	IMAPMaxMailboxes int `toml:"imap_max_mailboxes"`
	// IMAPMetadataMaxEntryName, IMAPMetadataMaxValueBytes and
	// IMAPMetadataMaxEntries bound IMAP METADATA (RFC 5464): the bytes
	// of an entry name, of one value, and the entries of one account.
	IMAPMetadataMaxEntryName  int   `toml:"imap_metadata_max_entry_name"`
	IMAPMetadataMaxValueBytes int64 `toml:"imap_metadata_max_value_bytes"`
	IMAPMetadataMaxEntries    int   `toml:"imap_metadata_max_entries"`
}

// DefaultIMAPLimits returns the IMAPLimits defaults.
func DefaultIMAPLimits() IMAPLimits {
	return IMAPLimits{
		IMAPMaxCommandBytes:   1 << 20,
		IMAPMaxAppendMessages: 1000,
		IMAPMaxAppendBytes:    100 << 20,
		IMAPMaxMailboxes:      10000,

		IMAPMetadataMaxEntryName:  1024,
		IMAPMetadataMaxValueBytes: 64 << 10,
		IMAPMetadataMaxEntries:    1000,
	}
}

func (l *Limits) validateIMAP() []error {
	var errs []error
	if l.IMAPMaxCommandBytes < int64(l.IMAPMaxLineLength) {
		errs = append(errs, errors.New("limits.imap_max_command_bytes must be at least limits.imap_max_line_length"))
	}
	if l.IMAPMaxAppendMessages <= 0 {
		errs = append(errs, errors.New("limits.imap_max_append_messages must be positive"))
	}
	if l.IMAPMaxAppendBytes < l.MaxMessageBytes {
		errs = append(errs, errors.New("limits.imap_max_append_bytes must be at least limits.max_message_bytes"))
	}
	if l.IMAPMaxMailboxes <= 0 {
		errs = append(errs, errors.New("limits.imap_max_mailboxes must be positive"))
	}
	if l.IMAPMetadataMaxEntryName <= 0 {
		errs = append(errs, errors.New("limits.imap_metadata_max_entry_name must be positive"))
	}
	if l.IMAPMetadataMaxValueBytes <= 0 {
		errs = append(errs, errors.New("limits.imap_metadata_max_value_bytes must be positive"))
	}
	if l.IMAPMetadataMaxEntries <= 0 {
		errs = append(errs, errors.New("limits.imap_metadata_max_entries must be positive"))
	}
	return errs
}
