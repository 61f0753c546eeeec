package pop3server

import (
	"bufio"
	"bytes"
)

// eachLine calls fn for each line of raw without its line ending (CRLF or
// a bare LF). A last line without an ending is passed like the others; an
// empty remainder after the final line ending is not a line. fn returns
// false to stop.
func eachLine(raw []byte, fn func(line []byte) bool) {
	for len(raw) > 0 {
		var line []byte
		if i := bytes.IndexByte(raw, '\n'); i >= 0 {
			line, raw = raw[:i], raw[i+1:]
			line = bytes.TrimSuffix(line, []byte{'\r'})
		} else {
			line, raw = raw, nil
		}
		if !fn(line) {
			return
		}
	}
}

// writeMessage writes raw as the body of a multi-line response (RFC 1939
// §3): line endings as CRLF, a "." doubled at the start of a line, then the
// terminating ".". With bodyLines >= 0 only the header, the blank line
// and that many lines of the body are sent (TOP); bodyLines < 0 sends all.
// It returns the number of lines written, for the trace.
func writeMessage(w *bufio.Writer, raw []byte, bodyLines int) int {
	if bodyLines < 0 {
		return writeWhole(w, raw)
	}
	lines := 0
	inHeader := true
	eachLine(raw, func(line []byte) bool {
		if !inHeader && bodyLines >= 0 {
			if bodyLines == 0 {
				return false
			}
			bodyLines--
		}
		if inHeader && len(line) == 0 {
			inHeader = false
		}
		writeDataLine(w, line)
		lines++
		return true
	})
	w.WriteString(".\r\n")
	return lines
}

// writeDataLine writes one line of a multi-line response, dot-stuffed.
func writeDataLine(w *bufio.Writer, line []byte) {
	if len(line) > 0 && line[0] == '.' {
		w.WriteByte('.')
	}
	w.Write(line)
	w.WriteString("\r\n")
}

// writeWhole is writeMessage for a whole message (RETR), in one pass over
// raw: runs of lines that need no change (CRLF-terminated, not starting
// with ".") are written as one slice, so a message stored with CRLF and
// few dot-lines goes out in a few large writes; a bare LF gets its CR, a
// leading "." its second ".". It returns the number of lines.
func writeWhole(w *bufio.Writer, raw []byte) int {
	lines := 0
	start := 0 // raw[start:i] is written as it is
	i := 0
	for i < len(raw) {
		if raw[i] == '.' {
			// At a line start: write what came before, then the extra dot.
			w.Write(raw[start:i])
			w.WriteByte('.')
			start = i
		}
		nl := bytes.IndexByte(raw[i:], '\n')
		if nl < 0 {
			// A last line without an ending gets one.
			w.Write(raw[start:])
			w.WriteString("\r\n")
			lines++
			start, i = len(raw), len(raw)
			break
		}
		i += nl
		if i == 0 || raw[i-1] != '\r' {
			w.Write(raw[start:i])
			w.WriteString("\r\n")
			start = i + 1
		}
		i++
		lines++
	}
	w.Write(raw[start:])
	w.WriteString(".\r\n")
	return lines
}
