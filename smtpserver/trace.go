package smtpserver

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/base32"
	"net"
	"strings"
	"time"
)

// rdnsTimeout bounds the reverse DNS lookup for the Received header.
const rdnsTimeout = 2 * time.Second

// rfc5322Date is the date-time format of RFC 5322 §3.3.
const rfc5322Date = "Mon, 02 Jan 2006 15:04:05 -0700"

var idEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// newQueueID returns a random id naming one accepted message in logs, the
// Received header and the 250 reply.
func newQueueID() string {
	var b [10]byte
	rand.Read(b[:])
	return idEncoding.EncodeToString(b[:])
}

// traceHeaders returns what goes in front of body: the trace fields in
// the order RFC 5321 §4.4 gives them (Return-Path, added at final
// delivery, on top; then this server's Received; then the
// Authentication-Results ar this server adds, RFC 8601 §5, below its own
// Received as Postfix with a milter and Dovecot LDA write them) and, for
// submission, the From, Message-ID and Date the message lacks (RFC 6409
// §8.1–§8.3). A missing From is the authenticated user's address.
// Everything taken from the client passes through sanitize or
// traceField: no CR, LF or NUL can start a header of its own.
func (ss *session) traceHeaders(body []byte, id string, now time.Time, ar string) []byte {
	var h bytes.Buffer
	h.WriteString("Return-Path: <" + stripControls(ss.from) + ">\r\n")
	h.WriteString(ss.received(id, now))
	h.WriteString(ar)
	h.WriteString(ss.dnsblHeaders())
	h.WriteString(ss.clientCheckHeaders())
	if ss.submission() {
		hasID, hasDate, hasFrom := headerHas(body)
		if !hasFrom && ss.account != nil {
			h.WriteString("From: <" + ss.account.Email + ">\r\n")
		}
		if !hasDate {
			h.WriteString("Date: " + now.Format(rfc5322Date) + "\r\n")
		}
		if !hasID {
			h.WriteString("Message-ID: <" + strings.ToLower(newQueueID()+newQueueID()) + "@" + ss.s.cfg.Hostname + ">\r\n")
		}
	}
	return h.Bytes()
}

// stripControls replaces every control character (C0 and DEL) in s
// with '?'. Addresses are refused with them (Mail, Rcpt); this is the
// second guard where they are written into a header.
func stripControls(s string) string {
	return strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return '?'
		}
		return r
	}, s)
}

// traceField makes a header field built from checked but partly
// client-derived values (Authentication-Results: HELO name, addresses,
// DKIM domains) safe to write: CRLF is kept only where it folds the field
// (followed by a space or tab), every other control character becomes
// '?', and the field ends with one CRLF.
func traceField(f string) string {
	f = strings.TrimRight(f, "\r\n")
	if f == "" {
		return ""
	}
	var b strings.Builder
	for i := 0; i < len(f); i++ {
		c := f[i]
		if c == '\r' && i+2 < len(f) && f[i+1] == '\n' && (f[i+2] == ' ' || f[i+2] == '\t') {
			b.WriteString("\r\n")
			i++
			continue
		}
		if (c < ' ' && c != '\t') || c == 0x7f {
			c = '?'
		}
		b.WriteByte(c)
	}
	b.WriteString("\r\n")
	return b.String()
}

// received returns the Received field (RFC 5321 §4.4) with the protocol
// type of RFC 3848. go-smtp does not tell HELO from EHLO, so the base
// type is always ESMTP. The "for" clause names the recipient only when
// there is exactly one: the copy is shared by all recipients and must not
// disclose Bcc recipients to each other.
func (ss *session) received(id string, now time.Time) string {
	ip := remoteIP(ss.remote)
	proto := "ESMTP"
	st, isTLS := ss.tlsState()
	if isTLS {
		proto += "S"
	}
	if ss.account != nil {
		proto += "A"
	}
	var b strings.Builder
	b.WriteString("Received: from " + sanitize(ss.c.Hostname()) + " (" + ss.clientName() + " [" + ip + "])\r\n")
	if isTLS {
		// As Postfix writes it: "(using TLSv1.3 with cipher ...)".
		b.WriteString("\t(using " + tlsVersionName(st.Version) + " with cipher " + tls.CipherSuiteName(st.CipherSuite) + ")\r\n")
	}
	b.WriteString("\tby " + ss.s.cfg.Hostname + " with " + proto + " id " + id)
	if addr, ok := ss.soleRecipient(); ok {
		b.WriteString("\r\n\tfor <" + sanitize(addr) + ">")
	}
	b.WriteString(";\r\n\t" + now.Format(rfc5322Date) + "\r\n")
	return b.String()
}

// tlsVersionName names a TLS version the way trace headers usually do.
func tlsVersionName(v uint16) string {
	switch v {
	case tls.VersionTLS12:
		return "TLSv1.2"
	case tls.VersionTLS13:
		return "TLSv1.3"
	}
	return strings.ReplaceAll(tls.VersionName(v), " ", "v")
}

// reverseName returns the client's reverse DNS name, or ip.
func (ss *session) reverseName(ip string) string {
	ctx, cancel := context.WithTimeout(ss.ctx, rdnsTimeout)
	defer cancel()
	names, err := ss.s.cfg.LookupAddr(ctx, ip)
	if err != nil || len(names) == 0 {
		return ip
	}
	if n := sanitize(strings.TrimSuffix(names[0], ".")); n != "" {
		return n
	}
	return ip
}

func remoteIP(a net.Addr) string {
	if t, ok := a.(*net.TCPAddr); ok {
		return t.IP.String()
	}
	if a == nil {
		return "unknown"
	}
	host, _, err := net.SplitHostPort(a.String())
	if err != nil {
		return sanitize(a.String())
	}
	return host
}

// sanitize keeps client-supplied text in a header field printable and
// free of the comment delimiters.
func sanitize(s string) string {
	return strings.Map(func(r rune) rune {
		if r <= ' ' || r == 0x7f || r == '(' || r == ')' {
			return '_'
		}
		return r
	}, s)
}

// headerHas reports whether the header of msg has Message-ID, Date and
// From fields. The header ends at the first empty line (or the end of msg).
func headerHas(msg []byte) (hasID, hasDate, hasFrom bool) {
	for len(msg) > 0 {
		line := msg
		if i := bytes.IndexByte(msg, '\n'); i >= 0 {
			line, msg = msg[:i+1], msg[i+1:]
		} else {
			msg = nil
		}
		l := bytes.TrimRight(line, "\r\n")
		if len(l) == 0 {
			break
		}
		if l[0] == ' ' || l[0] == '\t' {
			continue
		}
		name, _, ok := bytes.Cut(l, []byte(":"))
		if !ok {
			continue
		}
		name = bytes.TrimRight(name, " \t")
		switch {
		case bytes.EqualFold(name, []byte("Message-ID")):
			hasID = true
		case bytes.EqualFold(name, []byte("Date")):
			hasDate = true
		case bytes.EqualFold(name, []byte("From")):
			hasFrom = true
		}
	}
	return hasID, hasDate, hasFrom
}

// soleRecipient is the address for the Received "for" clause when the
// transaction has exactly one final recipient: the address the client
// gave for a local account, the forwarding target for a remote one.
func (ss *session) soleRecipient() (string, bool) {
	n := 0
	var addr string
	for _, rc := range ss.recipients {
		n += len(rc.Accounts) + len(rc.Remote)
		if len(rc.Accounts) > 0 {
			addr = rc.Addr
		} else if len(rc.Remote) > 0 {
			addr = rc.Remote[0]
		}
	}
	return addr, n == 1
}
