package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"
)

// imapConn is a minimal IMAP client: enough to send tagged commands and read
// every response line (with literals) up to the tagged completion.
type imapConn struct {
	c   net.Conn
	r   *bufio.Reader
	w   *bufio.Writer
	tag int
}

func dialIMAP(addr string) (*imapConn, error) {
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return nil, err
	}
	ic := &imapConn{c: c, r: bufio.NewReaderSize(c, 64<<10), w: bufio.NewWriterSize(c, 64<<10)}
	line, err := ic.readLine()
	if err != nil {
		c.Close()
		return nil, err
	}
	if !strings.HasPrefix(line, "* OK") {
		c.Close()
		return nil, fmt.Errorf("imap greeting: %q", line)
	}
	return ic, nil
}

func (ic *imapConn) Close() error { return ic.c.Close() }

// readLine reads one response line; literals {n} are read and appended
// (as raw bytes) so callers can count them.
func (ic *imapConn) readLine() (string, error) {
	var sb strings.Builder
	for {
		l, err := ic.r.ReadString('\n')
		if err != nil {
			return "", err
		}
		l = strings.TrimRight(l, "\r\n")
		sb.WriteString(l)
		if n, ok := literalLen(l); ok {
			if _, err := io.CopyN(&sb, ic.r, n); err != nil {
				return "", err
			}
			continue
		}
		return sb.String(), nil
	}
}

func literalLen(l string) (int64, bool) {
	if !strings.HasSuffix(l, "}") {
		return 0, false
	}
	i := strings.LastIndexByte(l, '{')
	if i < 0 {
		return 0, false
	}
	n, err := strconv.ParseInt(strings.TrimSuffix(l[i+1:len(l)-1], "+"), 10, 64)
	return n, err == nil
}

// cmd sends one command and returns the untagged lines. A NO/BAD completion
// is an error.
func (ic *imapConn) cmd(format string, args ...any) ([]string, error) {
	ic.tag++
	tag := "a" + strconv.Itoa(ic.tag)
	ic.c.SetDeadline(time.Now().Add(5 * time.Minute))
	fmt.Fprintf(ic.w, "%s %s\r\n", tag, fmt.Sprintf(format, args...))
	if err := ic.w.Flush(); err != nil {
		return nil, err
	}
	return ic.readUntil(tag)
}

func (ic *imapConn) readUntil(tag string) ([]string, error) {
	var out []string
	for {
		l, err := ic.readLine()
		if err != nil {
			return out, err
		}
		if strings.HasPrefix(l, tag+" ") {
			// NO [EXPUNGEISSUED]: another client expunged a message this
			// command asked for; a normal outcome under concurrency.
			if !strings.HasPrefix(l[len(tag)+1:], "OK") && !strings.Contains(l, "[EXPUNGEISSUED]") {
				return out, fmt.Errorf("imap: %.200s", l)
			}
			return out, nil
		}
		out = append(out, l)
	}
}

// readTagged skips untagged lines and returns the tagged completion.
func (ic *imapConn) readTagged(tag string) (string, error) {
	for {
		l, err := ic.readLine()
		if err != nil {
			return "", err
		}
		if strings.HasPrefix(l, tag+" ") {
			if !strings.HasPrefix(l[len(tag)+1:], "OK") {
				return l, fmt.Errorf("imap: %.200s", l)
			}
			return l, nil
		}
	}
}

// appendMsg APPENDs one message with a synchronizing literal.
func (ic *imapConn) appendMsg(mailbox string, flags string, msg []byte) error {
	_, err := ic.appendMsgTagged(mailbox, flags, msg)
	return err
}

// appendMsgTagged is appendMsg returning the tagged completion line.
func (ic *imapConn) appendMsgTagged(mailbox string, flags string, msg []byte) (string, error) {
	ic.tag++
	tag := "a" + strconv.Itoa(ic.tag)
	ic.c.SetDeadline(time.Now().Add(5 * time.Minute))
	fmt.Fprintf(ic.w, "%s APPEND %s (%s) {%d}\r\n", tag, mailbox, flags, len(msg))
	if err := ic.w.Flush(); err != nil {
		return "", err
	}
	l, err := ic.readLine()
	if err != nil {
		return "", err
	}
	if !strings.HasPrefix(l, "+") {
		return l, fmt.Errorf("imap append: %s", l)
	}
	ic.w.Write(msg)
	ic.w.WriteString("\r\n")
	if err := ic.w.Flush(); err != nil {
		return "", err
	}
	return ic.readTagged(tag)
}

func (ic *imapConn) login(user, pass string) error {
	_, err := ic.cmd("LOGIN %s %s", quote(user), quote(pass))
	return err
}

func quote(s string) string { return `"` + strings.ReplaceAll(s, `"`, `\"`) + `"` }

// statusMessages returns STATUS mailbox (MESSAGES).
func (ic *imapConn) statusMessages(mailbox string) (int, error) {
	lines, err := ic.cmd("STATUS %s (MESSAGES)", mailbox)
	if err != nil {
		return 0, err
	}
	for _, l := range lines {
		if i := strings.Index(l, "MESSAGES "); i >= 0 && strings.HasPrefix(l, "* STATUS") {
			f := strings.FieldsFunc(l[i+9:], func(r rune) bool { return r == ')' || r == ' ' })
			if len(f) > 0 {
				return strconv.Atoi(f[0])
			}
		}
	}
	return 0, errors.New("imap: no STATUS MESSAGES in reply")
}

// exists returns the EXISTS count in untagged lines, or -1.
func exists(lines []string) int { return messageCount(-1, lines) }

// messageCount follows the mailbox size a client knows, n, through a
// command's untagged responses: EXISTS sets it, each EXPUNGE takes one
// away. A server may announce another session's expunge after any command
// but FETCH, STORE and SEARCH (RFC 3501 §7.4.1), even right after SELECT,
// so a client that picks sequence numbers must follow both.
func messageCount(n int, lines []string) int {
	for _, l := range lines {
		f := strings.Fields(l)
		if len(f) != 3 || f[0] != "*" {
			continue
		}
		v, err := strconv.Atoi(f[1])
		if err != nil {
			continue
		}
		switch f[2] {
		case "EXISTS":
			n = v
		case "EXPUNGE":
			n--
		}
	}
	return n
}

// pop3Conn is a minimal POP3 client.
type pop3Conn struct {
	c net.Conn
	r *bufio.Reader
	w *bufio.Writer
}

func dialPOP3(addr string) (*pop3Conn, error) {
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return nil, err
	}
	pc := &pop3Conn{c: c, r: bufio.NewReaderSize(c, 64<<10), w: bufio.NewWriter(c)}
	if _, err := pc.status(); err != nil {
		c.Close()
		return nil, err
	}
	return pc, nil
}

func (pc *pop3Conn) status() (string, error) {
	pc.c.SetDeadline(time.Now().Add(5 * time.Minute))
	l, err := pc.r.ReadString('\n')
	if err != nil {
		return "", err
	}
	l = strings.TrimRight(l, "\r\n")
	if !strings.HasPrefix(l, "+OK") {
		return l, fmt.Errorf("pop3: %s", l)
	}
	return l, nil
}

func (pc *pop3Conn) cmd(format string, args ...any) (string, error) {
	fmt.Fprintf(pc.w, format+"\r\n", args...)
	if err := pc.w.Flush(); err != nil {
		return "", err
	}
	return pc.status()
}

// multi reads a dot-terminated multi-line body and returns its byte count.
func (pc *pop3Conn) multi() (int64, int, error) {
	var n int64
	lines := 0
	for {
		l, err := pc.r.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			n += int64(len(l))
			continue
		}
		if err != nil {
			return n, lines, err
		}
		if len(l) == 3 && l[0] == '.' && l[1] == '\r' {
			return n, lines, nil
		}
		n += int64(len(l))
		lines++
	}
}
