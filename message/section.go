package message

import (
	"errors"
	"fmt"
)

// ErrNoSuchPart is returned by Find for a section number that does not
// exist in the message.
var ErrNoSuchPart = errors.New("message: no such part")

// Find returns the part for an IMAP section number (RFC 9051 §6.4.5), p
// being the message root: for a multipart, n selects its n-th part; for a
// message that is not multipart, part 1 is the message body itself (that is,
// p); for a message/rfc822 part, numbering continues into the embedded
// message by the same two rules. An empty path returns p.
func (p *Part) Find(path []int) (*Part, error) {
	cur, isMessage := p, true
	for i := 0; i < len(path); {
		n := path[i]
		switch {
		case n < 1:
			return nil, fmt.Errorf("%w: %v", ErrNoSuchPart, path)
		case len(cur.Parts) > 0:
			if n > len(cur.Parts) {
				return nil, fmt.Errorf("%w: %v", ErrNoSuchPart, path)
			}
			cur, isMessage = cur.Parts[n-1], false
			i++
		case isMessage:
			if n != 1 {
				return nil, fmt.Errorf("%w: %v", ErrNoSuchPart, path)
			}
			isMessage = false
			i++
		case cur.Message != nil:
			cur, isMessage = cur.Message, true // same n, applied to the embedded message
		default:
			return nil, fmt.Errorf("%w: %v", ErrNoSuchPart, path)
		}
	}
	return cur, nil
}

// span returns raw[a:b], clamped so that a mismatched raw never panics.
func span(raw []byte, a, b int64) []byte {
	n := int64(len(raw))
	a = min(max(a, 0), n)
	b = min(max(b, a), n)
	return raw[a:b]
}

// Header returns the header of p including the blank line that ends it:
// BODY[HEADER] for the root, BODY[n.MIME] for a part (RFC 9051 §6.4.5).
func (p *Part) Header(raw []byte) []byte {
	return span(raw, p.HeaderStart, p.BodyStart)
}

// MIMEHeader returns the MIME header of the part, for BODY[n.MIME]. It is
// the same bytes as Header.
func (p *Part) MIMEHeader(raw []byte) []byte {
	return p.Header(raw)
}

// Body returns the body of p without its header: BODY[TEXT] for the root,
// BODY[n] for a part.
func (p *Part) Body(raw []byte) []byte {
	return span(raw, p.BodyStart, p.BodyEnd)
}

// Size returns the size of the body in bytes, as BODYSTRUCTURE reports it.
func (p *Part) Size() int64 {
	return p.BodyEnd - p.BodyStart
}

// Whole returns the header and body of p: BODY[] for the root.
func (p *Part) Whole(raw []byte) []byte {
	return span(raw, p.HeaderStart, p.BodyEnd)
}

// MessageHeader returns the header of the embedded message of a
// message/rfc822 part, for BODY[n.HEADER] (and HEADER.FIELDS via
// HeaderFields); for the root it is the message header. ok is false for any
// other part, which has no such section.
func (p *Part) MessageHeader(raw []byte) (b []byte, ok bool) {
	if p.Message == nil {
		return nil, false
	}
	return p.Message.Header(raw), true
}

// MessageText returns the body of the embedded message of a message/rfc822
// part, for BODY[n.TEXT]. ok is false for any other part.
func (p *Part) MessageText(raw []byte) (b []byte, ok bool) {
	if p.Message == nil {
		return nil, false
	}
	return p.Message.Body(raw), true
}
