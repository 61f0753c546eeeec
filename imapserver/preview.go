package imapserver

import (
	"bytes"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/html"

	"github.com/mailroom/mailroom/imapserver/imapwire"
	"github.com/mailroom/mailroom/message"
)

// PREVIEW (RFC 8970).
const (
	// previewChars is the most a preview has (RFC 8970 §3: 256
	// characters).
	previewChars = 256
	// previewScan bounds the body bytes decoded for a preview, so that a
	// large text part costs no more than a small one.
	previewScan = 16 << 10
)

// previewTextPart returns the leaf whose text makes the preview: the first
// text/plain part that is not an attachment, else the first such
// text/html part, else nil. Embedded messages are not looked into.
func previewTextPart(p *message.Part) *message.Part {
	var plain, htm *message.Part
	var walk func(q *message.Part)
	walk = func(q *message.Part) {
		if plain != nil {
			return
		}
		switch {
		case len(q.Parts) > 0:
			for _, c := range q.Parts {
				walk(c)
			}
		case q.MediaType == "text" && q.Disposition != "attachment":
			switch q.MediaSubtype {
			case "plain":
				plain = q
			case "html":
				if htm == nil {
					htm = q
				}
			}
		}
	}
	walk(p)
	if plain != nil {
		return plain
	}
	return htm
}

// preview computes the PREVIEW of a message from its stored part tree:
// up to previewChars characters of the first text part, transfer encoding
// and charset decoded, HTML reduced to its text, whitespace collapsed.
// A message without a text part has the empty preview.
func preview(raw []byte, root *message.Part) string {
	p := previewTextPart(root)
	if p == nil {
		return ""
	}
	q := *p
	q.Parts, q.Message = nil, nil
	q.BodyEnd = min(q.BodyEnd, q.BodyStart+previewScan)
	text := q.Text(raw)
	if q.MediaSubtype == "html" {
		text = htmlText(text)
	}
	body, quoted := splitQuoted(text)
	if s := collapse(body, previewChars); s != "" {
		return s
	}
	if s := collapse(quoted, previewChars-1); s != "" {
		return ">" + s
	}
	return ""
}

// splitQuoted separates the lines of a text that quote another message
// (those starting with '>') from the rest, as Dovecot's snippets do: a
// reply's preview shows what the sender wrote, not what was quoted. The
// quoted lines come back without their first '>', so a preview of a text
// that is all quote can still show it (behind one '>', as Dovecot does).
func splitQuoted(text string) (body, quoted string) {
	var b, q strings.Builder
	for line := range strings.Lines(text) {
		if rest, ok := strings.CutPrefix(line, ">"); ok {
			q.WriteString(rest)
			if !strings.HasSuffix(rest, "\n") {
				q.WriteByte('\n')
			}
			continue
		}
		b.WriteString(line)
	}
	return b.String(), q.String()
}

// htmlText returns the text of an HTML document, without the content of
// script, style, head and title elements, nor of blockquote (the quoted
// message of an HTML reply, as Dovecot leaves it out).
func htmlText(s string) string {
	z := html.NewTokenizer(strings.NewReader(s))
	var sb strings.Builder
	skip := 0
	for {
		switch z.Next() {
		case html.ErrorToken:
			return sb.String()
		case html.TextToken:
			if skip == 0 {
				sb.Write(z.Text())
			}
		case html.StartTagToken, html.EndTagToken:
			name, _ := z.TagName()
			switch string(name) {
			case "script", "style", "head", "title", "blockquote":
				if z.Token().Type == html.StartTagToken {
					skip++
				} else if skip > 0 {
					skip--
				}
			default:
				sb.WriteByte(' ') // <p>a</p><p>b</p> is "a b"
			}
		}
	}
}

// collapse returns s with runs of white space and control characters made
// one space, trimmed, cut to at most n characters.
func collapse(s string, n int) string {
	var sb strings.Builder
	count := 0
	space := false
	for _, r := range s {
		if unicode.IsSpace(r) || unicode.IsControl(r) || r == utf8.RuneError {
			space = sb.Len() > 0
			continue
		}
		if space {
			if count+1 >= n {
				break
			}
			sb.WriteByte(' ')
			count++
			space = false
		}
		if count >= n {
			break
		}
		sb.WriteRune(r)
		count++
	}
	return sb.String()
}

// fetchPreview renders PREVIEW of a FETCH response: a quoted string, or a
// literal when it has 8-bit characters an IMAP4rev1 session cannot take
// in a quoted string.
func (c *conn) fetchPreview(d *msgData) (data []byte, lit int, err error) {
	raw, err := d.Raw()
	if err != nil {
		return nil, 0, err
	}
	part, err := d.Part()
	if err != nil {
		return nil, 0, err
	}
	s := preview(raw, part)
	if !imapwire.CanQuote(s, c.rev2) {
		return []byte(s), 1, nil
	}
	var b bytes.Buffer
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' || s[i] == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	b.WriteByte('"')
	return b.Bytes(), 0, nil
}

// previewModifiers reads what may follow PREVIEW: " (LAZY)" (RFC 8970 §3;
// LAZY lets the server skip a costly preview: this one computes it
// always). A "(" that does not start with LAZY is left for the FETCH
// modifiers (CHANGEDSINCE) after a lone PREVIEW item.
func (c *conn) previewModifiers() error {
	if !c.dec.PeekFold(" (LAZY") {
		return nil
	}
	if err := c.dec.SP(); err != nil {
		return err
	}
	return c.dec.List(func() error {
		a, err := c.dec.Atom()
		if err == nil && !strings.EqualFold(a, "LAZY") {
			err = badf("", "unknown PREVIEW modifier")
		}
		return err
	})
}
