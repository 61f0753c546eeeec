package message

import "bytes"

// CRLFSize is the octet count of raw with every line ending as CRLF: a
// bare LF counts as CRLF, and a last line without an ending gets one. A
// CR not followed by LF is an ordinary byte. It is what POP3 RETR sends
// before dot-stuffing, which the size in STAT and LIST must match (RFC
// 1939 §5 LIST, §11).
func CRLFSize(raw []byte) int64 {
	n := int64(len(raw))
	if n == 0 {
		return 0
	}
	if raw[len(raw)-1] != '\n' {
		n += 2
	}
	// Count the LFs without a CR before them.
	for i := 0; ; {
		j := bytes.IndexByte(raw[i:], '\n')
		if j < 0 {
			break
		}
		i += j
		if i == 0 || raw[i-1] != '\r' {
			n++
		}
		i++
	}
	return n
}
