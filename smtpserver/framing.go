package smtpserver

import (
	"bytes"
	"strconv"
	"strings"
)

// framer follows the SMTP framing of one connection between the network
// and go-smtp. It never changes a byte it passes on; it exists for the
// two things go-smtp (v0.26.0) cannot be configured to do, both in
// docs/architecture.md ("go-smtp and the hooks that remain"):
//   - STARTTLS as RFC 3207 wants it (conn.go): refused with parameters
//     (501), during a transaction or after AUTH (503), mail commands
//     refused until the client greets again (503), and the handshake
//     bounded and counted. go-smtp's own STARTTLS does none of that, so
//     the framer takes the STARTTLS line out of the stream and conn runs it.
//   - bare CR in DATA: go-smtp's DATA reader drops ".\r" at the start of
//     a line when anything but LF follows, so Session.Data never sees that
//     bare CR (SMTP smuggling); the framer sees the wire bytes.
//
// To tell commands from message data it follows the framing the way
// go-smtp does: a command line ends at LF;
// "DATA" switches to message data only if the server's reply to it is 354,
// and the data ends at CRLF.CRLF (the same state machine as go-smtp's
// dataReader); "BDAT n [LAST]" is followed by exactly n bytes of chunk
// (go-smtp always consumes them); after STARTTLS answered by 220 the stream
// is TLS and left alone. To learn a reply, the framer counts the client's
// lines and the server's final reply lines: every line (and every complete
// DATA message) gets exactly one reply. After the DATA line it stops
// processing until that reply has been written, which go-smtp always does
// before it reads again.
type framer struct {
	maxLine int // the connection's Limits.MaxLineLength; 0 is DefaultMaxLineLength
	// tooLong: a command line longer than maxLine came; conn answers
	// 500 and closes (go-smtp's own limit is far above, see New).
	tooLong bool

	mode  int
	held  []byte // command mode: the current line so far (at most heldMax())
	chunk uint64 // chunk mode: bytes of BDAT chunk left
	stop  bool   // end this call of client after the current line
	data  int    // data mode: dataReader state
	// Data mode: whether the previous byte was CR, and whether a bare CR
	// or LF was seen in the current message (SMTP smuggling).
	dataCRPrev, bare bool

	// STARTTLS (see conn.go): when interceptTLS is set, a STARTTLS line
	// is not passed on; startTLSPending tells conn to run it.
	interceptTLS    bool
	startTLSPending bool
	startTLSArgs    bool // the STARTTLS line had parameters
	ehloUnit        int  // the unit number of the last EHLO passed on
	// After STARTTLS the client must greet again (RFC 3207 §4.2), but
	// go-smtp, which never saw the STARTTLS, still knows the old EHLO:
	// until a new EHLO/HELO, mail commands are refused here
	// (refusePending tells conn to answer 503).
	needHello, refusePending bool
	inReply                  bool // server: inside a multi-line reply

	sent    int // client units passed on (lines and DATA messages)
	waitFor int // wait mode: the unit whose reply decides
	waitTLS bool

	// tr records command lines and DATA messages for the debug trace
	// (wiretrace.go); nil when not tracing.
	tr    *wireTrace
	dataN int // data mode: bytes of the current message

	// Server side.
	greeted bool
	replies int    // final reply lines after the greeting
	lineLen int    // bytes of the current server line seen so far
	code    []byte // first bytes of the current server line
	last    int    // code of the last final reply line
}

const (
	modeCommand = iota
	modeWait
	modeData
	modeChunk
	modeOpaque
)

// heldMax bounds a command line the framer buffers: the connection's
// MaxLineLength, counted with the line's end, so that every line go-smtp
// will act on is seen whole and classified by the same rule go-smtp uses
// (parseCommand). A longer line is not passed on: tooLong tells conn to
// answer 500 and close, as go-smtp does at its own limit.
func (r *framer) heldMax() int {
	if r.maxLine > 0 {
		return r.maxLine
	}
	return DefaultMaxLineLength
}

// dataReader states, as in go-smtp's data.go.
const (
	dataBeginLine = iota
	dataDot
	dataDotCR
	dataCR
	dataText
)

// client processes bytes from the client, appending what go-smtp should
// read to dst. It returns the new dst and how many bytes of src it used;
// it stops early after a line whose meaning depends on the server's reply,
// and after a BDAT line.
func (r *framer) client(dst, src []byte) ([]byte, int) {
	if r.mode == modeWait {
		// go-smtp asks for more before replying: cannot happen with
		// go-smtp as it is; treat the command as refused.
		r.resolve(false)
	}
	i := 0
	r.stop = false
	if r.tooLong {
		return dst, len(src)
	}
	for i < len(src) && r.mode != modeWait && !r.stop {
		switch r.mode {
		case modeOpaque:
			dst = append(dst, src[i:]...)
			i = len(src)
		case modeChunk:
			n := uint64(len(src) - i)
			n = min(n, r.chunk)
			dst = append(dst, src[i:i+int(n)]...)
			i += int(n)
			r.chunk -= n
			if r.chunk == 0 {
				r.mode = modeCommand
			}
		case modeData:
			b := src[i]
			i++
			dst = append(dst, b)
			r.dataN++
			if r.dataCRPrev != (b == '\n') {
				r.bare = true
			}
			r.dataCRPrev = b == '\r'
			if r.dataByte(b) {
				r.sent++
				r.mode = modeCommand
				if r.tr != nil {
					r.tr.data(r.dataN - len(".\r\n")) // the message without its end
				}
			}
		case modeCommand:
			b := src[i]
			i++
			r.held = append(r.held, b)
			if b == '\n' {
				dst = r.endLine(dst)
			} else if len(r.held) > r.heldMax() {
				r.held = r.held[:0]
				r.tooLong, r.stop = true, true
				i = len(src) // the connection ends here
				if r.tr != nil {
					r.tr.push("[line too long]")
				}
			}
		}
	}
	return dst, i
}

// flush returns a partial command line held back, at end of input.
func (r *framer) flush() []byte {
	h := r.held
	r.held = nil
	return h
}

// endLine handles a complete command line in r.held. The line is
// classified with parseCommand, go-smtp's own rule, so that the two never
// disagree about which command it is ("DATA  ", "DATA\r\r\n" and "data"
// are all DATA to go-smtp).
func (r *framer) endLine(dst []byte) []byte {
	// What go-smtp's parseCmd looks at: the line without its LF and
	// without any CR before it (textproto drops one, parseCmd the rest).
	line := bytes.TrimRight(r.held[:len(r.held)-1], "\r\n")
	cmd, arg, cmdOK := parseCommand(string(line))
	if r.tr != nil {
		r.tr.command(line, cmd, cmdOK, r.sent+1)
	}
	if r.interceptTLS && cmdOK && cmd == "STARTTLS" {
		r.startTLSPending, r.stop = true, true
		u := strings.ToUpper(string(line))
		r.startTLSArgs = len(u) < 8 || strings.TrimSpace(u[8:]) != ""
		r.held = r.held[:0]
		return dst
	}
	if r.needHello && cmdOK {
		switch cmd {
		case "EHLO", "HELO", "LHLO":
			r.needHello = false
		case "MAIL", "RCPT", "DATA", "BDAT", "AUTH":
			r.refusePending, r.stop = true, true
			r.held = r.held[:0]
			return dst
		}
	}
	r.sent++
	if r.interceptTLS && cmdOK && cmd == "EHLO" {
		r.ehloUnit = r.sent
	}
	dst = append(dst, r.held...)
	switch {
	case !cmdOK:
	case cmd == "DATA":
		// go-smtp answers 354 only to a DATA it accepts; any other
		// reply leaves it in command mode.
		r.mode, r.waitFor, r.waitTLS = modeWait, r.sent, false
	case cmd == "STARTTLS":
		r.mode, r.waitFor, r.waitTLS = modeWait, r.sent, true
	case cmd == "BDAT":
		if n, ok := bdatSize(arg); ok && n > 0 {
			// Hand go-smtp the BDAT line alone: it reads the chunk
			// without its line-length limit only after parsing the
			// command, and would otherwise apply the limit to chunk
			// bytes that arrived with it.
			r.mode, r.chunk, r.stop = modeChunk, n, true
		}
	}
	r.held = r.held[:0]
	return dst
}

// parseCommand is go-smtp's parseCmd (parse.go, v0.25.1) verbatim but for
// returning ok instead of an error: the command name (upper case) and its
// argument as go-smtp will see them. Keep it in step with go-smtp.
func parseCommand(line string) (cmd, arg string, ok bool) {
	line = strings.TrimRight(line, "\r\n")
	l := len(line)
	switch {
	case strings.HasPrefix(strings.ToUpper(line), "STARTTLS"):
		return "STARTTLS", "", true
	case l == 0:
		return "", "", true
	case l < 4:
		return "", "", false
	case l == 4:
		return strings.ToUpper(line), "", true
	case l == 5:
		return "", "", false
	}
	if line[4] != ' ' {
		return "", "", false
	}
	return strings.ToUpper(line[0:4]), strings.TrimSpace(line[5:]), true
}

// afterTLS resets the client side after a STARTTLS handshake: nothing
// held, command mode, no more STARTTLS.
func (r *framer) afterTLS() {
	r.held = r.held[:0]
	r.mode = modeCommand
	r.interceptTLS, r.startTLSPending, r.ehloUnit = false, false, 0
	r.needHello = true
}

// ehloFirstLine reports whether the next server line starts the reply to
// an EHLO while STARTTLS is on offer.
func (r *framer) ehloFirstLine() bool {
	return r.interceptTLS && r.greeted && r.ehloUnit != 0 && r.ehloUnit == r.replies+1 &&
		!r.inReply && r.lineLen == 0
}

// resolve leaves wait mode given whether the command was accepted.
func (r *framer) resolve(accepted bool) {
	switch {
	case !accepted:
		r.mode = modeCommand
	case r.waitTLS:
		r.mode = modeOpaque
	default:
		r.mode, r.data, r.dataN = modeData, dataBeginLine, 0
		// DATA's line ended in CRLF (or go-smtp would not have
		// answered 354), so the message starts at a line start.
		r.dataCRPrev, r.bare = false, false
	}
}

// dataByte advances the end-of-data state machine; it reports the end.
func (r *framer) dataByte(c byte) bool {
	switch r.data {
	case dataBeginLine:
		switch c {
		case '.':
			r.data = dataDot
		case '\r':
			r.data = dataCR
		default:
			r.data = dataText
		}
	case dataDot:
		if c == '\r' {
			r.data = dataDotCR
		} else {
			r.data = dataText
		}
	case dataDotCR:
		if c == '\n' {
			return true
		}
		r.data = dataText
	case dataCR:
		if c == '\n' {
			r.data = dataBeginLine
		} else {
			r.data = dataText
		}
	case dataText:
		if c == '\r' {
			r.data = dataCR
		}
	}
	return false
}

// server watches what the server writes, counting final reply lines.
func (r *framer) server(p []byte) {
	for _, b := range p {
		if b == '\n' {
			r.endReplyLine()
			continue
		}
		if r.lineLen < 4 {
			r.code = append(r.code, b)
		}
		r.lineLen++
	}
}

func (r *framer) endReplyLine() {
	final := len(r.code) < 4 || r.code[3] != '-'
	r.inReply = !final
	code := 0
	if len(r.code) >= 3 {
		code, _ = strconv.Atoi(string(r.code[:3]))
	}
	r.code, r.lineLen = r.code[:0], 0
	if !final {
		return
	}
	if !r.greeted {
		r.greeted = true
		return
	}
	r.replies++
	r.last = code
	if r.mode == modeWait && r.replies >= r.waitFor {
		r.resolve(r.replies == r.waitFor && (code == 354 && !r.waitTLS || code == 220 && r.waitTLS))
	}
}

// bdatSize reports the chunk size of a BDAT command whose argument
// go-smtp accepts far enough to read its chunk (conn.go handleBdat: it
// reads the chunk whenever the arguments parse, even when it refuses the
// command).
func bdatSize(arg string) (uint64, bool) {
	args := strings.Fields(arg)
	if len(args) == 0 || len(args) > 2 {
		return 0, false
	}
	if len(args) == 2 && !strings.EqualFold(args[1], "LAST") {
		return 0, false
	}
	n, err := strconv.ParseUint(args[0], 10, 32)
	if err != nil {
		return 0, false
	}
	return n, true
}
