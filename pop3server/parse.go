package pop3server

import (
	"strconv"
	"strings"
)

// errSyntax reports a malformed command line.
var errSyntax = &replyError{text: "syntax error"}

// command is one parsed command line (RFC 1939 §3, RFC 2449 §3).
type command struct {
	name string   // the keyword, upper-cased
	args []string // the arguments, split at spaces
	rest string   // everything after the keyword and its space (PASS takes it whole)
}

// maxKeywordLength: keywords are three or four characters (RFC 2449 §3).
const maxKeywordLength = 4

// parseCommand parses a command line without its CRLF. Keywords are
// case-insensitive ASCII letters; arguments are separated by spaces.
// Control characters are refused anywhere in the line.
func parseCommand(line string) (command, error) {
	for i := 0; i < len(line); i++ {
		if b := line[i]; b < ' ' || b == 0x7f {
			return command{}, errSyntax
		}
	}
	name, rest, _ := strings.Cut(line, " ")
	if name == "" || len(name) > maxKeywordLength {
		return command{}, errUnknownCommand
	}
	for i := 0; i < len(name); i++ {
		b := name[i] | 0x20
		if b < 'a' || b > 'z' {
			return command{}, errUnknownCommand
		}
	}
	return command{
		name: strings.ToUpper(name),
		args: strings.Fields(rest),
		rest: rest,
	}, nil
}

// parseNumber parses a message number or line count: decimal digits only,
// no sign (RFC 1939 §3).
func parseNumber(s string) (int, error) {
	if s == "" || len(s) > 9 {
		return 0, errBadArguments
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, errBadArguments
		}
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, errBadArguments
	}
	return n, nil
}
