package imapmsg

import (
	"strconv"
	"strings"
)

// AppendString appends s as an IMAP string (RFC 9051 §4.3): a quoted string
// when s holds only 7-bit characters other than NUL, CR and LF (with `"` and
// `\` escaped), otherwise a literal "{n}\r\n...". 8-bit text always goes in
// a literal, which is valid with and without UTF8=ACCEPT. NUL, which no
// IMAP string may carry, is dropped.
func AppendString(dst []byte, s string) []byte {
	if strings.IndexByte(s, 0) >= 0 {
		s = strings.ReplaceAll(s, "\x00", "")
	}
	if !quotable(s) {
		dst = append(dst, '{')
		dst = strconv.AppendInt(dst, int64(len(s)), 10)
		dst = append(dst, "}\r\n"...)
		return append(dst, s...)
	}
	dst = append(dst, '"')
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == '"' || c == '\\' {
			dst = append(dst, '\\')
		}
		dst = append(dst, s[i])
	}
	return append(dst, '"')
}

// quotable reports whether s may be sent as a quoted string: QUOTED-CHAR
// is any 7-bit TEXT-CHAR (no CR, LF, NUL), with `"` and `\` escaped.
func quotable(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == '\r' || c == '\n' || c == 0 || c >= 0x80 {
			return false
		}
	}
	return true
}

// AppendNString appends s as an nstring: NIL when s is empty, otherwise as
// AppendString does.
func AppendNString(dst []byte, s string) []byte {
	if s == "" {
		return append(dst, "NIL"...)
	}
	return AppendString(dst, s)
}

// appendUpperString appends s upper-cased (ASCII only) as a string, the way
// BODYSTRUCTURE names media types, encodings and parameter names.
func appendUpperString(dst []byte, s string) []byte {
	return AppendString(dst, upperASCII(s))
}

func upperASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; 'a' <= c && c <= 'z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if 'a' <= b[j] && b[j] <= 'z' {
					b[j] -= 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}
