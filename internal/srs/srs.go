// Package srs implements the Sender Rewriting Scheme (Shevek's scheme,
// as libsrs2 and postsrsd write it): a forwarder sends mail with an
// envelope sender in its own domain, so SPF passes downstream, and a
// bounce to that address can be decoded and returned to the original
// sender.
//
//	SRS0=HHHH=TT=domain=local@forwarder
//	SRS1=HHHH=first.forwarder==HHHH=TT=domain=local@forwarder
//
// HHHH is the first four characters of the base64 HMAC-SHA1 (with the
// first key) of the lower-cased rest of the address; TT is the day of
// the rewrite (days since the epoch modulo 1024, two base32 characters).
// Every key verifies, so keys can be rotated: put the new one first and
// drop the old one after MaxAge.
package srs

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"strings"
	"time"
)

// Errors of Reverse.
var (
	// ErrNotSRS: the address is not an SRS0/SRS1 address.
	ErrNotSRS = errors.New("srs: not an SRS address")
	// ErrSyntax: it starts like one but is malformed.
	ErrSyntax = errors.New("srs: malformed SRS address")
	// ErrHash: no key produces its hash (forged).
	ErrHash = errors.New("srs: hash does not verify")
	// ErrExpired: its timestamp is older than MaxAge (or in the future).
	ErrExpired = errors.New("srs: address expired")
)

const (
	hashLen       = 4
	timePrecision = 24 * time.Hour
	timeSlots     = 1024 // two base32 characters
	base32Chars   = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	// MaxAddress bounds an address Reverse looks at (RFC 5321 §4.5.3.1:
	// a path is at most 256 octets).
	MaxAddress = 256
)

// DefaultMaxAge is how long a rewritten address stays valid.
const DefaultMaxAge = 21 * 24 * time.Hour

// Rewriter rewrites senders into Domain and reverses its addresses.
type Rewriter struct {
	domain string
	keys   [][]byte
	maxAge time.Duration
	now    func() time.Time
}

// New returns a Rewriter for domain. keys[0] signs, all verify; at
// least one non-empty key is required. maxAge 0 is DefaultMaxAge; now
// nil is time.Now.
func New(domain string, keys [][]byte, maxAge time.Duration, now func() time.Time) (*Rewriter, error) {
	if domain == "" || strings.ContainsAny(domain, "@= \t\r\n") {
		return nil, errors.New("srs: bad domain")
	}
	if len(keys) == 0 {
		return nil, errors.New("srs: no key")
	}
	for _, k := range keys {
		if len(k) == 0 {
			return nil, errors.New("srs: empty key")
		}
	}
	if maxAge <= 0 {
		maxAge = DefaultMaxAge
	}
	if maxAge >= timeSlots*timePrecision {
		return nil, errors.New("srs: max age must be under 1024 days")
	}
	if now == nil {
		now = time.Now
	}
	return &Rewriter{domain: strings.ToLower(domain), keys: keys, maxAge: maxAge, now: now}, nil
}

// Domain returns the domain rewritten addresses are in.
func (r *Rewriter) Domain() string { return r.domain }

// Forward rewrites sender (local@domain) into the Rewriter's domain: an
// SRS0 address, or SRS1 for an SRS address of another forwarder. A
// sender already in the Rewriter's domain, or the null sender, is
// returned as it is.
func (r *Rewriter) Forward(sender string) (string, error) {
	if sender == "" {
		return "", nil
	}
	at := strings.LastIndexByte(sender, '@')
	if at <= 0 || at == len(sender)-1 {
		return "", ErrSyntax
	}
	local, domain := sender[:at], sender[at+1:]
	if strings.EqualFold(domain, r.domain) {
		return sender, nil
	}
	if a, err := Parse(local); err == nil {
		// Already rewritten by another forwarder: SRS1 names the first
		// forwarder and keeps its SRS0 part, so a bounce goes back
		// there directly.
		var first, opaque string
		switch a.Kind {
		case 0:
			first, opaque = domain, a.Hash+"="+a.Stamp+"="+a.Domain+"="+a.Local
		default:
			first, opaque = a.First, a.Opaque
		}
		h := r.hash(r.keys[0], first, opaque)
		return "SRS1=" + h + "=" + first + "==" + opaque + "@" + r.domain, nil
	}
	ts := stamp(r.now())
	h := r.hash(r.keys[0], ts, domain, local)
	return "SRS0=" + h + "=" + ts + "=" + domain + "=" + local + "@" + r.domain, nil
}

// Reverse decodes an address this Rewriter made (its domain is not
// checked; the caller routed it here): an SRS0 address gives the
// original sender, an SRS1 address the first forwarder's SRS0 address.
// A forged hash is ErrHash, an old timestamp ErrExpired.
func (r *Rewriter) Reverse(addr string) (string, error) {
	if len(addr) > MaxAddress {
		return "", ErrSyntax
	}
	at := strings.LastIndexByte(addr, '@')
	if at < 0 {
		return "", ErrNotSRS
	}
	a, err := Parse(addr[:at])
	if err != nil {
		return "", err
	}
	if a.Kind == 1 {
		if !r.verify(a.Hash, a.First, a.Opaque) {
			return "", ErrHash
		}
		return "SRS0=" + a.Opaque + "@" + a.First, nil
	}
	if !r.verify(a.Hash, a.Stamp, a.Domain, a.Local) {
		return "", ErrHash
	}
	if !r.fresh(a.Stamp) {
		return "", ErrExpired
	}
	return a.Local + "@" + a.Domain, nil
}

// Address is a parsed SRS local part.
type Address struct {
	Kind int // 0 for SRS0, 1 for SRS1
	Hash string
	// SRS0: the timestamp, original domain and local part.
	Stamp, Domain, Local string
	// SRS1: the first forwarder and its SRS0 part after "SRS0=".
	First, Opaque string
}

// IsSRS reports whether local starts like an SRS local part.
func IsSRS(local string) bool {
	if len(local) < 5 {
		return false
	}
	p := strings.ToUpper(local[:4])
	return (p == "SRS0" || p == "SRS1") && strings.IndexByte("=+-", local[4]) >= 0
}

// Parse splits an SRS local part. It checks syntax only, no hash.
func Parse(local string) (Address, error) {
	if !IsSRS(local) {
		return Address{}, ErrNotSRS
	}
	if len(local) > MaxAddress {
		return Address{}, ErrSyntax
	}
	kind := int(local[3] - '0')
	rest := local[5:]
	if kind == 1 {
		// HHHH=first.forwarder==opaque (the separator after the
		// forwarder is '=' followed by the original one).
		h, rest, ok := strings.Cut(rest, "=")
		if !ok || len(h) != hashLen {
			return Address{}, ErrSyntax
		}
		i := strings.Index(rest, "==")
		if i < 0 {
			i = strings.Index(rest, "=+")
		}
		if i < 0 {
			i = strings.Index(rest, "=-")
		}
		if i <= 0 {
			return Address{}, ErrSyntax
		}
		first, opaque := rest[:i], rest[i+2:]
		if _, err := parseSRS0(opaque); err != nil {
			return Address{}, ErrSyntax
		}
		return Address{Kind: 1, Hash: h, First: first, Opaque: opaque}, nil
	}
	return parseSRS0(rest)
}

// parseSRS0 splits HHHH=TT=domain=local.
func parseSRS0(s string) (Address, error) {
	parts := strings.SplitN(s, "=", 4)
	if len(parts) != 4 {
		return Address{}, ErrSyntax
	}
	h, ts, dom, loc := parts[0], parts[1], parts[2], parts[3]
	if len(h) != hashLen || len(ts) != 2 || dom == "" || loc == "" || strings.ContainsAny(dom, "@") {
		return Address{}, ErrSyntax
	}
	for i := 0; i < len(ts); i++ {
		if strings.IndexByte(base32Chars, upper(ts[i])) < 0 {
			return Address{}, ErrSyntax
		}
	}
	return Address{Kind: 0, Hash: h, Stamp: ts, Domain: dom, Local: loc}, nil
}

func upper(c byte) byte {
	if c >= 'a' && c <= 'z' {
		return c - 'a' + 'A'
	}
	return c
}

func (r *Rewriter) hash(key []byte, parts ...string) string {
	m := hmac.New(sha1.New, key)
	for _, p := range parts {
		m.Write([]byte(strings.ToLower(p)))
	}
	return base64.StdEncoding.EncodeToString(m.Sum(nil))[:hashLen]
}

func (r *Rewriter) verify(h string, parts ...string) bool {
	for _, k := range r.keys {
		// Case-insensitive, as mail systems may fold the local part.
		if subtle.ConstantTimeCompare([]byte(strings.ToLower(r.hash(k, parts...))), []byte(strings.ToLower(h))) == 1 {
			return true
		}
	}
	return false
}

// stamp is the day of t modulo 1024 in two base32 characters.
func stamp(t time.Time) string {
	d := t.Unix() / int64(timePrecision/time.Second) % timeSlots
	return string([]byte{base32Chars[d>>5], base32Chars[d&31]})
}

// fresh reports whether the stamp ts lies within maxAge before now.
func (r *Rewriter) fresh(ts string) bool {
	v := strings.IndexByte(base32Chars, upper(ts[0]))<<5 | strings.IndexByte(base32Chars, upper(ts[1]))
	today := r.now().Unix() / int64(timePrecision/time.Second) % timeSlots
	age := (today - int64(v) + timeSlots) % timeSlots
	return time.Duration(age)*timePrecision <= r.maxAge
}
