package managesieve

import (
	"bufio"
	"errors"
	"io"
	"strconv"
	"strings"
)

// command is one parsed command: its name (upper case) and its
// arguments, quoted strings, literals and atoms (numbers) alike.
type command struct {
	name string
	args []arg
}

// arg is one argument; atom is set for a bare word or number, unset for
// a quoted string or literal (RFC 5804 §4: sieve-name and script are
// strings, HAVESPACE's size a number).
type arg struct {
	val  string
	atom bool
}

// wireLimits bound one command: the line outside literals, one literal,
// and whether a literal over the bound is skipped (after authentication:
// the client is told NO (QUOTA/MAXSIZE) and the session goes on) or ends
// the session (before it: nothing big is read from an unknown client).
type wireLimits struct {
	line, literal int
	skipBig       bool
}

// Wire errors. errLineTooLong, errSyntax and errLiteralTooBig leave the
// reader at the start of the next command; errFatal does not, and the
// session ends.
var (
	errFatal = errors.New("managesieve: cannot read on")
)

// reader parses commands from a bufio.Reader (RFC 5804 §4).
type reader struct {
	br *bufio.Reader

	// per command
	lim  wireLimits
	n    int   // octets of the line outside literals
	perr error // the command's first error; the rest of it is skipped
}

func (r *reader) fail(err error) {
	if r.perr == nil {
		r.perr = err
	}
}

// next reads one octet of the line (outside literals).
func (r *reader) next() (byte, error) {
	b, err := r.br.ReadByte()
	if err != nil {
		return 0, err
	}
	r.n++
	if r.n > r.lim.line {
		r.fail(errLineTooLong)
	}
	return b, nil
}

// readCommand reads one command. An empty line is a command with no
// name. A syntax error, a line or literal over the limits is returned
// after the whole command was read (literals skipped without being
// kept), so the next read starts at the next command; errFatal and
// read errors end the session.
func (r *reader) readCommand(lim wireLimits) (*command, error) {
	toks, err := r.readArgs(lim)
	if err != nil {
		return nil, err
	}
	return toCommand(toks)
}

// readArgs reads the words, strings and literals of one line.
func (r *reader) readArgs(lim wireLimits) ([]arg, error) {
	r.lim, r.n, r.perr = lim, 0, nil
	var toks []arg
	for {
		b, err := r.next()
		if err != nil {
			return nil, err
		}
		switch {
		case b == '\n':
			if r.perr != nil {
				return nil, r.perr
			}
			return toks, nil
		case b == '\r' || b == ' ' || b == '\t':
		case b == '"':
			s, eol, err := r.quoted()
			if err != nil {
				return nil, err
			}
			if eol {
				r.fail(errSyntax)
				return nil, r.perr
			}
			toks = r.add(toks, arg{val: s})
		case b == '{':
			s, err := r.literal()
			if err != nil {
				return nil, err
			}
			toks = r.add(toks, arg{val: s})
		default:
			sb := []byte{b}
			for {
				c, err := r.br.Peek(1)
				if err != nil {
					return nil, err
				}
				if c[0] == ' ' || c[0] == '\r' || c[0] == '\n' || c[0] == '"' || c[0] == '{' {
					break
				}
				b, _ := r.next()
				if r.perr == nil {
					sb = append(sb, b)
				}
			}
			toks = r.add(toks, arg{val: string(sb), atom: true})
		}
	}
}

// add appends a to toks while the command is good and not too long.
func (r *reader) add(toks []arg, a arg) []arg {
	if r.perr != nil {
		return toks
	}
	if len(toks) > maxArgs {
		r.fail(errSyntax)
		return nil
	}
	return append(toks, a)
}

func toCommand(toks []arg) (*command, error) {
	if len(toks) == 0 {
		return &command{}, nil
	}
	if !toks[0].atom {
		return nil, errSyntax
	}
	return &command{name: strings.ToUpper(toks[0].val), args: toks[1:]}, nil
}

// quoted reads a quoted string after its opening quote (RFC 5804 §4:
// no CR, LF or NUL; \" and \\ escapes). eol reports a line end inside
// it (the command is over, with errSyntax).
func (r *reader) quoted() (s string, eol bool, err error) {
	var sb []byte
	for {
		b, err := r.next()
		if err != nil {
			return "", false, err
		}
		switch b {
		case '"':
			return string(sb), false, nil
		case '\\':
			if b, err = r.next(); err != nil {
				return "", false, err
			}
			if b != '"' && b != '\\' {
				r.fail(errSyntax)
			}
		case '\r', 0:
			r.fail(errSyntax)
		}
		if b == '\n' {
			return "", true, nil
		}
		if r.perr == nil {
			sb = append(sb, b)
		}
	}
}

// literal reads {n+}CRLF or {n}CRLF and n octets after the opening
// brace. A literal over the limit is skipped when the limits allow it
// (errLiteralTooBig for the command), else errFatal.
func (r *reader) literal() (string, error) {
	var digits []byte
	plus := false
	for {
		b, err := r.next()
		if err != nil {
			return "", err
		}
		if b == '}' {
			break
		}
		if b == '+' && !plus {
			plus = true
			continue
		}
		if b < '0' || b > '9' || plus || len(digits) >= 10 {
			// Not a literal we can frame: nothing after it can be
			// trusted to be a command.
			return "", errFatal
		}
		digits = append(digits, b)
	}
	size, err := strconv.ParseInt(string(digits), 10, 64)
	if err != nil {
		return "", errFatal
	}
	b, err := r.next()
	if err == nil && b == '\r' {
		b, err = r.next()
	}
	if err != nil {
		return "", err
	}
	if b != '\n' {
		return "", errFatal
	}
	if size > int64(r.lim.literal) || r.perr != nil {
		if size > int64(r.lim.literal) && !r.lim.skipBig {
			return "", errFatal
		}
		// The client does not wait for us (non-synchronizing
		// literals): skip what it sends, without keeping it.
		if _, err := io.CopyN(io.Discard, r.br, size); err != nil {
			return "", err
		}
		r.fail(errLiteralTooBig)
		return "", nil
	}
	buf := make([]byte, size)
	if _, err := io.ReadFull(r.br, buf); err != nil {
		return "", err
	}
	return string(buf), nil
}

// quoteString writes s as a ManageSieve string: quoted when it is short
// and has no CR, LF or NUL, else a literal (RFC 5804 §4).
func quoteString(s string) string {
	if len(s) <= 1024 && !strings.ContainsAny(s, "\r\n\x00") {
		return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
	}
	return "{" + strconv.Itoa(len(s)) + "}\r\n" + s
}
