package queue

import (
	"bytes"
	"testing"
)

// Issue 11 item 8: the signer signed whatever From: domain a message
// named. It now signs only with the domain the submission server found
// the user to own, and only when that is the From: domain.
func TestDKIMSignsOnlyTheOwnedAuthorDomain(t *testing.T) {
	dir := t.TempDir()
	for _, d := range []string{"example.org", "corp.test"} {
		if _, err := GenerateDKIM(dir, d); err != nil {
			t.Fatal(err)
		}
	}
	s := NewDKIMSigner(dir)
	msg := func(from string) []byte {
		return []byte("From: <" + from + ">\r\nSubject: s\r\n\r\nbody\r\n")
	}
	for _, tc := range []struct {
		from, domain string
		signed       bool
	}{
		{"alice@example.org", "example.org", true},
		{"alice@EXAMPLE.org", "Example.ORG", true},
		{"ceo@corp.test", "example.org", false}, // the user owns example.org only
		{"ceo@corp.test", "", false},            // nothing owned: no signature
		{"alice@example.org", "", false},
	} {
		raw := msg(tc.from)
		out, err := s.Sign(raw, tc.domain)
		if err != nil {
			t.Fatal(err)
		}
		signed := bytes.HasPrefix(out, []byte("DKIM-Signature:"))
		if signed != tc.signed {
			t.Errorf("From %s, domain %q: signed %v, want %v", tc.from, tc.domain, signed, tc.signed)
		}
		if !tc.signed && !bytes.Equal(out, raw) {
			t.Errorf("From %s, domain %q: message changed", tc.from, tc.domain)
		}
	}
}
