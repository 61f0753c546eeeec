package message

import (
	"bytes"
	"reflect"
	"testing"
)

func FuzzParse(f *testing.F) {
	for _, s := range []string{walkthrough, nested, "", "\r\n", "Content-Type: multipart/mixed; boundary=b\n\n--b\n--b--",
		"Content-Type: message/rfc822\n\nContent-Type: message/rfc822\n\nx",
		"To: a:b,<c@d;(e\"f\n\n", "Content-Type: text/plain; a*0*=x'y'%zz; a*1=q\n\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		p := Parse(raw)
		if err := checkTree(raw, p); err != nil {
			t.Fatal(err)
		}
		b, err := Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		q, err := Unmarshal(b)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(p, q) {
			t.Fatalf("Marshal/Unmarshal round trip differs:\n%s", b)
		}
		// Every part is reachable by its section number, and the section
		// helpers do not panic on any part.
		var walk func(x *Part, path []int)
		walk = func(x *Part, path []int) {
			if y, err := p.Find(path); err != nil || y != x {
				t.Fatalf("Find(%v) = %p, %v; want %p", path, y, err, x)
			}
			_ = HeaderFields(x.Header(raw), []string{"subject"}, true)
			_ = x.Text(raw)
			for i, c := range x.Parts {
				walk(c, append(append([]int(nil), path...), i+1))
			}
			if m := x.Message; m != nil && len(path) > 0 {
				if len(m.Parts) == 0 {
					walk(m, append(append([]int(nil), path...), 1))
				}
				for i, c := range m.Parts {
					walk(c, append(append([]int(nil), path...), i+1))
				}
			}
		}
		walk(p, nil)
		walk(p, nil)
		_ = p.TextForSearch(raw)
		_ = p.HeaderText(raw)
	})
}

func FuzzDecode(f *testing.F) {
	for _, s := range []string{"YmFy", "aGVs\r\nbG8=", "caf=E9=\r\n", "=", "==", "=\r", "  \r\n"} {
		f.Add([]byte(s), "base64")
		f.Add([]byte(s), "quoted-printable")
	}
	f.Fuzz(func(t *testing.T, body []byte, enc string) {
		in := bytes.Clone(body)
		out, err := Decode(body, enc)
		if !bytes.Equal(in, body) {
			t.Fatal("Decode modified its input")
		}
		if err != nil {
			return
		}
		if len(out) > len(body) {
			t.Fatalf("decoded %d bytes from %d", len(out), len(body))
		}
	})
}

// FuzzUnmarshal feeds arbitrary bytes to the tree decoder: it must not
// panic, and what it accepts must keep the offset invariants and survive
// another round trip unchanged.
func FuzzUnmarshal(f *testing.F) {
	for _, s := range []string{walkthrough, nested, "", "Content-Type: message/rfc822\n\nTo: a@b\n\nx"} {
		b, _ := Marshal(Parse([]byte(s)))
		f.Add(b)
	}
	f.Add([]byte{treeVersion})
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := Unmarshal(b)
		if err != nil {
			return
		}
		again, _ := Marshal(p)
		if q, err := Unmarshal(again); err != nil || !reflect.DeepEqual(p, q) {
			t.Fatalf("second round trip: %v\n%x\n%x", err, b, again)
		}
		var walk func(q *Part, lo, hi int64)
		walk = func(q *Part, lo, hi int64) {
			if !(lo <= q.HeaderStart && q.HeaderStart <= q.BodyStart && q.BodyStart <= q.BodyEnd && q.BodyEnd <= hi) {
				t.Fatalf("offsets %d/%d/%d outside [%d,%d]", q.HeaderStart, q.BodyStart, q.BodyEnd, lo, hi)
			}
			for _, c := range q.Parts {
				walk(c, q.BodyStart, q.BodyEnd)
			}
			if q.Message != nil {
				walk(q.Message, q.BodyStart, q.BodyEnd)
			}
		}
		walk(p, 0, p.BodyEnd)
	})
}
