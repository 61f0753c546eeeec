package config

import (
	"strings"
	"testing"
)

func TestIMAPLimits(t *testing.T) {
	d := Default()
	if err := d.Validate(); err != nil {
		t.Fatal(err)
	}
	if got := d.Limits.IMAPLimits; got != DefaultIMAPLimits() || got.IMAPMaxMailboxes != 10000 || got.IMAPMaxAppendMessages != 1000 {
		t.Fatalf("defaults: %+v", got)
	}
	c, err := Load(writeFile(t, `
[limits]
imap_max_command_bytes = 2097152
imap_max_append_messages = 50
imap_max_append_bytes = 209715200
imap_max_mailboxes = 500
imap_metadata_max_entry_name = 100
imap_metadata_max_value_bytes = 4096
imap_metadata_max_entries = 10
`))
	if err != nil {
		t.Fatal(err)
	}
	want := IMAPLimits{IMAPMaxCommandBytes: 2 << 20, IMAPMaxAppendMessages: 50, IMAPMaxAppendBytes: 200 << 20, IMAPMaxMailboxes: 500,
		IMAPMetadataMaxEntryName: 100, IMAPMetadataMaxValueBytes: 4096, IMAPMetadataMaxEntries: 10}
	if c.Limits.IMAPLimits != want {
		t.Fatalf("loaded %+v, want %+v", c.Limits.IMAPLimits, want)
	}
	for body, wantErr := range map[string]string{
		"[limits]\nimap_max_command_bytes = 1000\n":     "imap_max_command_bytes",
		"[limits]\nimap_max_append_messages = 0\n":      "imap_max_append_messages",
		"[limits]\nimap_max_append_bytes = 1000\n":      "imap_max_append_bytes",
		"[limits]\nimap_max_mailboxes = -1\n":           "imap_max_mailboxes",
		"[limits]\nimap_metadata_max_entry_name = 0\n":  "imap_metadata_max_entry_name",
		"[limits]\nimap_metadata_max_value_bytes = 0\n": "imap_metadata_max_value_bytes",
		"[limits]\nimap_metadata_max_entries = -1\n":    "imap_metadata_max_entries",
	} {
		if _, err := Load(writeFile(t, body)); err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Errorf("Load(%q) error = %v, want mention of %q", body, err, wantErr)
		}
	}
}
