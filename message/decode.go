package message

import (
	"errors"
	"fmt"
	"strings"
)

// ErrUnknownEncoding is returned (wrapped) by Decode for a
// Content-Transfer-Encoding it does not know; IMAP answers BINARY fetches of
// such parts with [UNKNOWN-CTE] (RFC 3516 §4.2).
var ErrUnknownEncoding = errors.New("message: unknown content-transfer-encoding")

// Decode undoes the Content-Transfer-Encoding encoding (case-insensitive) of
// body, for IMAP BINARY. 7bit, 8bit, binary and "" return body unchanged.
// base64 ignores characters outside its alphabet, as RFC 2045 §6.8 asks;
// quoted-printable keeps malformed '=' sequences literally. Neither fails.
func Decode(body []byte, encoding string) ([]byte, error) {
	enc, _ := stripComments(encoding)
	switch strings.ToLower(strings.TrimSpace(enc)) {
	case "", "7bit", "8bit", "binary":
		return body, nil
	case "base64":
		return decodeBase64(body), nil
	case "quoted-printable":
		return decodeQP(body), nil
	}
	return nil, fmt.Errorf("%w: %q", ErrUnknownEncoding, encoding)
}

func b64value(c byte) int {
	switch {
	case c >= 'A' && c <= 'Z':
		return int(c - 'A')
	case c >= 'a' && c <= 'z':
		return int(c-'a') + 26
	case c >= '0' && c <= '9':
		return int(c-'0') + 52
	case c == '+':
		return 62
	case c == '/':
		return 63
	}
	return -1
}

// decodeBase64 decodes base64 skipping characters outside the alphabet. A
// '=' ends the current quantum, so concatenated encodings decode too.
func decodeBase64(in []byte) []byte {
	out := make([]byte, 0, len(in)*3/4)
	var acc uint32
	n := 0
	for _, c := range in {
		if c == '=' {
			n, acc = 0, 0
			continue
		}
		v := b64value(c)
		if v < 0 {
			continue
		}
		acc = acc<<6 | uint32(v)
		n++
		switch n {
		case 2:
			out = append(out, byte(acc>>4))
		case 3:
			out = append(out, byte(acc>>2))
		case 4:
			out = append(out, byte(acc))
			n, acc = 0, 0
		}
	}
	return out
}

func unhex(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	}
	return -1
}

// decodeQP decodes quoted-printable (RFC 2045 §6.7): =XX escapes (either
// case), soft line breaks ("=" then optional whitespace and a line ending),
// trailing whitespace on lines removed. Line endings are kept as given.
func decodeQP(in []byte) []byte {
	out := make([]byte, 0, len(in))
	for i := 0; i < len(in); i++ {
		c := in[i]
		switch {
		case c == '=':
			if i+2 < len(in) && unhex(in[i+1]) >= 0 && unhex(in[i+2]) >= 0 {
				out = append(out, byte(unhex(in[i+1])<<4|unhex(in[i+2])))
				i += 2
				continue
			}
			// Soft line break: '=' followed by whitespace up to the end of
			// the line (or of the input).
			j := i + 1
			for j < len(in) && (in[j] == ' ' || in[j] == '\t') {
				j++
			}
			if j == len(in) {
				return out
			}
			if in[j] == '\n' {
				i = j
				continue
			}
			if in[j] == '\r' && j+1 < len(in) && in[j+1] == '\n' {
				i = j + 1
				continue
			}
			out = append(out, c)
		case c == ' ' || c == '\t':
			// Drop whitespace that ends a line.
			j := i
			for j < len(in) && (in[j] == ' ' || in[j] == '\t') {
				j++
			}
			if j == len(in) || in[j] == '\n' || (in[j] == '\r' && j+1 < len(in) && in[j+1] == '\n') {
				i = j - 1
				continue
			}
			out = append(out, in[i:j]...)
			i = j - 1
		default:
			out = append(out, c)
		}
	}
	return out
}
