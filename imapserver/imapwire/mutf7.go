package imapwire

import (
	"encoding/base64"
	"errors"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// Modified UTF-7 (RFC 3501 §5.1.3) encodes mailbox names for IMAP4rev1
// clients: printable US-ASCII stands for itself except "&", written "&-";
// other characters are UTF-16 in modified base64 ("," for "/") between "&"
// and "-".

var mutf7Enc = base64.NewEncoding("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,").WithPadding(base64.NoPadding)

// ErrBadMUTF7 reports an invalid modified UTF-7 string.
var ErrBadMUTF7 = errors.New("imapwire: invalid modified UTF-7")

// EncodeMUTF7 encodes a UTF-8 mailbox name to modified UTF-7.
func EncodeMUTF7(s string) string {
	var sb strings.Builder
	var pending []rune
	flush := func() {
		if len(pending) == 0 {
			return
		}
		u := utf16.Encode(pending)
		b := make([]byte, 2*len(u))
		for i, c := range u {
			b[2*i], b[2*i+1] = byte(c>>8), byte(c)
		}
		sb.WriteByte('&')
		sb.WriteString(mutf7Enc.EncodeToString(b))
		sb.WriteByte('-')
		pending = pending[:0]
	}
	for _, r := range s {
		if r >= 0x20 && r <= 0x7e {
			flush()
			if r == '&' {
				sb.WriteString("&-")
			} else {
				sb.WriteRune(r)
			}
			continue
		}
		pending = append(pending, r)
	}
	flush()
	return sb.String()
}

// DecodeMUTF7 decodes a modified UTF-7 mailbox name to UTF-8.
func DecodeMUTF7(s string) (string, error) {
	var sb strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c > 0x7e {
			return "", ErrBadMUTF7
		}
		if c != '&' {
			sb.WriteByte(c)
			continue
		}
		j := strings.IndexByte(s[i+1:], '-')
		if j < 0 {
			return "", ErrBadMUTF7
		}
		enc := s[i+1 : i+1+j]
		i += j + 1
		if enc == "" {
			sb.WriteByte('&')
			continue
		}
		b, err := mutf7Enc.DecodeString(enc)
		if err != nil || len(b)%2 != 0 {
			return "", ErrBadMUTF7
		}
		u := make([]uint16, len(b)/2)
		for k := range u {
			u[k] = uint16(b[2*k])<<8 | uint16(b[2*k+1])
		}
		for _, r := range utf16.Decode(u) {
			if r == utf8.RuneError || (r >= 0x20 && r <= 0x7e) {
				// Directly encodable characters must not be encoded.
				return "", ErrBadMUTF7
			}
			sb.WriteRune(r)
		}
	}
	return sb.String(), nil
}
