package message

import (
	"fmt"
	"strings"
	"testing"
)

// crlf turns the LF line endings of a test literal into CRLF.
func crlf(s string) string { return strings.ReplaceAll(s, "\n", "\r\n") }

// checkTree verifies the offset ordering and the type invariants Parse
// promises, for every part under p.
func checkTree(raw []byte, p *Part) error {
	var walk func(q *Part, lo, hi int64, where string) error
	walk = func(q *Part, lo, hi int64, where string) error {
		if !(lo <= q.HeaderStart && q.HeaderStart <= q.BodyStart && q.BodyStart <= q.BodyEnd && q.BodyEnd <= hi) {
			return fmt.Errorf("%s: offsets %d/%d/%d outside [%d,%d]", where, q.HeaderStart, q.BodyStart, q.BodyEnd, lo, hi)
		}
		if (q.MediaType == "multipart") != (len(q.Parts) > 0) {
			return fmt.Errorf("%s: %s with %d parts", where, q.ContentType(), len(q.Parts))
		}
		if q.isMessageType() != (q.Message != nil) {
			return fmt.Errorf("%s: %s with message %v", where, q.ContentType(), q.Message != nil)
		}
		for i, c := range q.Parts {
			if err := walk(c, q.BodyStart, q.BodyEnd, fmt.Sprintf("%s.%d", where, i+1)); err != nil {
				return err
			}
			if i > 0 && c.HeaderStart < q.Parts[i-1].BodyEnd {
				return fmt.Errorf("%s.%d overlaps its predecessor", where, i+1)
			}
		}
		if q.Message != nil {
			if q.Message.Envelope == nil {
				return fmt.Errorf("%s: embedded message without envelope", where)
			}
			return walk(q.Message, q.BodyStart, q.BodyEnd, where+".m")
		}
		return nil
	}
	if p.Envelope == nil {
		return fmt.Errorf("root without envelope")
	}
	return walk(p, 0, int64(len(raw)), "root")
}

func mustFind(t *testing.T, p *Part, path ...int) *Part {
	t.Helper()
	q, err := p.Find(path)
	if err != nil {
		t.Fatalf("Find(%v): %v", path, err)
	}
	return q
}

func parseChecked(t *testing.T, raw string) *Part {
	t.Helper()
	p := Parse([]byte(raw))
	if err := checkTree([]byte(raw), p); err != nil {
		t.Fatal(err)
	}
	return p
}
