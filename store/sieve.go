package store

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"
	"unicode/utf8"
)

// SieveScript is one of an account's named Sieve filtering scripts
// (package sieve). At most one script of an account is active: the one
// delivery runs.
type SieveScript struct {
	ID        int64 // never reused
	AccountID int64
	Name      string
	Source    []byte
	Active    bool
	Updated   time.Time
}

// Bounds of the Sieve script storage, checked before anything is
// written (ManageSieve's HAVESPACE answers from the same numbers).
const (
	MaxSieveScriptSize = 1 << 20 // bytes of one script (sieve.DefaultLimits().MaxScriptSize)
	MaxSieveScripts    = 64      // scripts per account
	MaxSieveNameLen    = 128     // bytes of a script name (RFC 5804 §1.6 leaves the bound to the server)
)

// CheckSieveScript applies the bounds every backend checks: a name of
// 1..MaxSieveNameLen bytes of UTF-8 without control characters or '/'
// (RFC 5804 §1.6), and a source of at most MaxSieveScriptSize bytes.
func CheckSieveScript(name string, src []byte) error {
	if err := CheckSieveName(name); err != nil {
		return err
	}
	if len(src) > MaxSieveScriptSize {
		return fmt.Errorf("%w: sieve script of %d bytes exceeds the limit of %d", ErrInvalid, len(src), MaxSieveScriptSize)
	}
	return nil
}

// CheckSieveName checks a script name (see CheckSieveScript).
func CheckSieveName(name string) error {
	if name == "" || len(name) > MaxSieveNameLen || !utf8.ValidString(name) {
		return fmt.Errorf("%w: sieve script name must be 1..%d bytes of UTF-8", ErrInvalid, MaxSieveNameLen)
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == '/' || r == 0x2028 || r == 0x2029 {
			return fmt.Errorf("%w: sieve script name %q has a forbidden character", ErrInvalid, name)
		}
	}
	return nil
}

// Kinds of Sieve state (SieveStateSeen, RecordSieveState).
const (
	SieveStateVacation  = "vacation"  // RFC 5230 §4.2: (handle, sender) answered
	SieveStateDuplicate = "duplicate" // RFC 7352 §3: (handle, unique id) seen
)

// Copy is one message stored into mailboxes by DeliverBatch: copies of
// one delivery may differ per account (Sieve's editheader, :flags).
type Copy struct {
	Targets []Target
	Message NewMessage
}

// SieveStateKey is the key backends store Sieve state under: a hash of
// handle and key, so that neither the handle (script text) nor a
// sender's address is kept in the clear, and every key has one length.
func SieveStateKey(handle, key string) string {
	sum := sha256.Sum256([]byte(handle + "\x00" + key))
	return hex.EncodeToString(sum[:])
}
