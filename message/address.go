package message

import "strings"

// MissingHost is the host given to an address that has none, so that it is
// not mistaken for an IMAP group start (whose host is NIL). It is the value
// UW c-client and Dovecot use.
const MissingHost = ".MISSING-HOST-NAME."

// ParseAddressList parses an unfolded address-list header value (RFC 5322
// §3.4) into IMAP address structures, leniently: a malformed entry yields
// what can be read of it and does not drop the rest of the list. Groups
// ("name: a, b;") become a GroupStart address, the members and a GroupEnd
// address; an unterminated group is closed at the end. ';' outside a group
// separates addresses like ','. Display names are unquoted with comments
// removed, RFC 2047 encoded-words kept. It returns nil for an empty list.
//
// net/mail is not used: it decodes encoded-words and flattens groups, both
// of which IMAP ENVELOPE must not do.
func ParseAddressList(s string) []Address {
	return parseAddressList(s, 0)
}

// maxAddressRetries bounds the re-reads of a list with unbalanced quotes,
// comments or angle brackets (each removes one; a list needs at most
// three, hostile input gets no more than this).
const maxAddressRetries = 8

func parseAddressList(s string, retries int) []Address {
	var out []Address
	inGroup, inQuote, inAngle := false, false, false
	comment := 0
	quotePos, commentPos := 0, 0
	angleComma := -1 // first comma after the open angle, outside quotes and comments
	item := 0
	flush := func(i int) {
		if a, ok := parseMailbox(s[item:i]); ok {
			out = append(out, a)
		}
		item = i + 1
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case inQuote:
			if c == '\\' {
				i++
			} else if c == '"' {
				inQuote = false
			}
		case comment > 0:
			if c == '\\' {
				i++
			} else if c == '(' {
				comment++
			} else if c == ')' {
				comment--
			}
		case c == '"':
			inQuote, quotePos = true, i
		case c == '(':
			comment, commentPos = 1, i
		case c == '<':
			inAngle, angleComma = true, -1
		case c == '>':
			inAngle = false
		case inAngle:
			if c == ',' && angleComma < 0 {
				angleComma = i
			}
		case c == ',':
			flush(i)
		case c == ':' && !inGroup:
			out = append(out, Address{Mailbox: phrase(s[item:i]), GroupStart: true})
			inGroup = true
			item = i + 1
		case c == ';':
			flush(i)
			if inGroup {
				out = append(out, Address{GroupEnd: true})
				inGroup = false
			}
		}
	}
	// An unterminated quoted string or comment would swallow the rest of
	// the list: read it again without the stray opener. An unterminated
	// angle address is closed at the next comma that is not inside a
	// quoted string or comment (one inside quotes gave hostile input an
	// endless, growing retry). Each retry removes one unbalanced opener.
	if retries < maxAddressRetries {
		switch {
		case inQuote:
			return parseAddressList(s[:quotePos]+s[quotePos+1:], retries+1)
		case comment > 0:
			return parseAddressList(s[:commentPos]+s[commentPos+1:], retries+1)
		case inAngle && angleComma >= 0:
			return parseAddressList(s[:angleComma]+">"+s[angleComma:], retries+1)
		}
	}
	if item < len(s) {
		flush(len(s))
	}
	if inGroup {
		out = append(out, Address{GroupEnd: true})
	}
	return out
}

// parseMailbox parses one mailbox: "phrase <route:local@domain>" or
// "local@domain (comment)". ok is false for an empty entry.
func parseMailbox(s string) (Address, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Address{}, false
	}
	lt := topLevelIndex(s, '<')
	if lt < 0 {
		spec, cmt := stripComments(s)
		spec = removeSpace(spec)
		if spec == "" {
			return Address{}, false
		}
		a := splitAddrSpec(spec)
		a.Name = strings.Join(strings.Fields(cmt), " ")
		return a, true
	}
	name := phrase(s[:lt])
	inner := s[lt+1:]
	if gt := strings.IndexByte(inner, '>'); gt >= 0 {
		inner = inner[:gt]
	}
	inner, _ = stripComments(inner)
	inner = removeSpace(inner)
	var adl string
	if strings.HasPrefix(inner, "@") {
		if colon := strings.IndexByte(inner, ':'); colon >= 0 {
			adl, inner = inner[:colon], inner[colon+1:]
		}
	}
	if inner == "" && name == "" {
		return Address{}, false
	}
	a := splitAddrSpec(inner)
	a.Name, a.Adl = name, adl
	return a, true
}

// splitAddrSpec splits local@domain at the last '@' outside quotes.
func splitAddrSpec(spec string) Address {
	at := -1
	inQuote := false
	for i := 0; i < len(spec); i++ {
		switch c := spec[i]; {
		case inQuote && c == '\\':
			i++
		case c == '"':
			inQuote = !inQuote
		case !inQuote && c == '@':
			at = i
		}
	}
	a := Address{Mailbox: spec, Host: MissingHost}
	if at >= 0 {
		a.Mailbox = spec[:at]
		if h := spec[at+1:]; h != "" {
			a.Host = h
		}
	}
	return a
}

// topLevelIndex returns the index of c outside quoted strings and comments.
func topLevelIndex(s string, c byte) int {
	inQuote, comment := false, 0
	for i := 0; i < len(s); i++ {
		switch x := s[i]; {
		case (inQuote || comment > 0) && x == '\\':
			i++
		case inQuote:
			if x == '"' {
				inQuote = false
			}
		case comment > 0:
			if x == '(' {
				comment++
			} else if x == ')' {
				comment--
			}
		case x == '"':
			inQuote = true
		case x == '(':
			comment = 1
		case x == c:
			return i
		}
	}
	return -1
}

// stripComments removes comments outside quoted strings, returning the rest
// and the text of the last comment.
func stripComments(s string) (rest, last string) {
	var sb, cb strings.Builder
	inQuote, comment := false, 0
	for i := 0; i < len(s); i++ {
		x := s[i]
		switch {
		case comment > 0:
			if x == '\\' && i+1 < len(s) {
				i++
				cb.WriteByte(s[i])
				continue
			}
			if x == '(' {
				comment++
			} else if x == ')' {
				comment--
				if comment == 0 {
					last = cb.String()
					cb.Reset()
					continue
				}
			}
			cb.WriteByte(x)
		case inQuote:
			sb.WriteByte(x)
			if x == '\\' && i+1 < len(s) {
				i++
				sb.WriteByte(s[i])
			} else if x == '"' {
				inQuote = false
			}
		case x == '"':
			inQuote = true
			sb.WriteByte(x)
		case x == '(':
			comment = 1
		default:
			sb.WriteByte(x)
		}
	}
	return sb.String(), last
}

// removeSpace drops whitespace outside quoted strings.
func removeSpace(s string) string {
	var sb strings.Builder
	inQuote := false
	for i := 0; i < len(s); i++ {
		x := s[i]
		if inQuote && x == '\\' && i+1 < len(s) {
			sb.WriteByte(x)
			i++
			sb.WriteByte(s[i])
			continue
		}
		if x == '"' {
			inQuote = !inQuote
		}
		if !inQuote && (x == ' ' || x == '\t' || x == '\r' || x == '\n') {
			continue
		}
		sb.WriteByte(x)
	}
	return sb.String()
}

// phrase returns a display name: comments removed, quoted strings unquoted,
// whitespace runs collapsed to one space. Encoded-words are kept.
func phrase(s string) string {
	s, _ = stripComments(s)
	var sb strings.Builder
	inQuote := false
	for i := 0; i < len(s); i++ {
		x := s[i]
		switch {
		case inQuote && x == '\\' && i+1 < len(s):
			i++
			sb.WriteByte(s[i])
		case x == '"':
			inQuote = !inQuote
		default:
			sb.WriteByte(x)
		}
	}
	return strings.Join(strings.Fields(sb.String()), " ")
}
