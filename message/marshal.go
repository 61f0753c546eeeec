package message

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// ErrCorrupt is returned by Unmarshal for data that is not a part tree.
var ErrCorrupt = errors.New("message: corrupt part tree")

// treeVersion is the first byte of every encoded tree, so that a later
// layout can be told apart (and a store can rebuild what it cannot read).
const treeVersion = 1

// Marshal encodes the part tree compactly, for the store to keep beside
// the raw message: a version byte, then each part depth first as unsigned
// varints (offsets as deltas, counts, string lengths) and string bytes.
// A typical message's tree is a few hundred bytes and decodes in about a
// microsecond, far less than parsing the message again. The error is
// always nil; it is there for the callers' symmetry with Unmarshal.
func Marshal(p *Part) ([]byte, error) {
	return AppendTree(nil, p), nil
}

// AppendTree appends the encoding of p (see Marshal) to b.
func AppendTree(b []byte, p *Part) []byte {
	b = append(b, treeVersion)
	return appendPart(b, p)
}

func appendPart(b []byte, p *Part) []byte {
	b = binary.AppendUvarint(b, uint64(p.HeaderStart))
	b = binary.AppendUvarint(b, uint64(p.BodyStart-p.HeaderStart))
	b = binary.AppendUvarint(b, uint64(p.BodyEnd-p.BodyStart))
	b = binary.AppendUvarint(b, uint64(p.BodyLines))
	b = appendStr(b, p.MediaType)
	b = appendStr(b, p.MediaSubtype)
	b = appendParams(b, p.Params)
	b = appendStr(b, p.ContentID)
	b = appendStr(b, p.Description)
	b = appendStr(b, p.Encoding)
	b = appendStr(b, p.Disposition)
	b = appendParams(b, p.DispositionParams)
	b = binary.AppendUvarint(b, uint64(len(p.Language)))
	for _, l := range p.Language {
		b = appendStr(b, l)
	}
	b = appendStr(b, p.Location)
	b = appendStr(b, p.MD5)
	b = binary.AppendUvarint(b, uint64(len(p.Parts)))
	for _, c := range p.Parts {
		b = appendPart(b, c)
	}
	var has byte
	if p.Message != nil {
		has |= 1
	}
	if p.Envelope != nil {
		has |= 2
	}
	b = append(b, has)
	if p.Message != nil {
		b = appendPart(b, p.Message)
	}
	if e := p.Envelope; e != nil {
		b = appendStr(b, e.Date)
		b = appendStr(b, e.Subject)
		for _, l := range [...][]Address{e.From, e.Sender, e.ReplyTo, e.To, e.Cc, e.Bcc} {
			b = binary.AppendUvarint(b, uint64(len(l)))
			for _, a := range l {
				var f byte
				if a.GroupStart {
					f |= 1
				}
				if a.GroupEnd {
					f |= 2
				}
				b = append(b, f)
				b = appendStr(b, a.Name)
				b = appendStr(b, a.Adl)
				b = appendStr(b, a.Mailbox)
				b = appendStr(b, a.Host)
			}
		}
		b = appendStr(b, e.InReplyTo)
		b = appendStr(b, e.MessageID)
	}
	return b
}

func appendStr(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendParams(b []byte, ps []Param) []byte {
	b = binary.AppendUvarint(b, uint64(len(ps)))
	for _, x := range ps {
		b = appendStr(b, x.Name)
		b = appendStr(b, x.Value)
	}
	return b
}

// Unmarshal decodes a part tree written by Marshal. It checks what a
// consumer slicing the raw message relies on: every part's offsets are
// ordered (HeaderStart <= BodyStart <= BodyEnd), children lie inside
// their parent's body, and the tree is no deeper than Parse makes it; the
// caller checks the root's BodyEnd against the message's size. Counts are
// bounded by the bytes left, so corrupt input cannot make it allocate
// more than a small multiple of len(b).
func Unmarshal(b []byte) (*Part, error) {
	if len(b) == 0 || b[0] != treeVersion {
		return nil, fmt.Errorf("%w: unknown version", ErrCorrupt)
	}
	d := treeDecoder{b: b[1:]}
	p := d.part(0, 0, math.MaxInt64)
	if d.err != nil {
		return nil, d.err
	}
	if len(d.b) != 0 {
		return nil, fmt.Errorf("%w: %d trailing bytes", ErrCorrupt, len(d.b))
	}
	return p, nil
}

type treeDecoder struct {
	b   []byte
	err error
}

func (d *treeDecoder) fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: %s", ErrCorrupt, what)
	}
	d.b = nil
}

func (d *treeDecoder) uint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail("bad varint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

// count reads a count of elements that take at least one byte each.
func (d *treeDecoder) count() int {
	v := d.uint()
	if v > uint64(len(d.b)) {
		d.fail("count beyond data")
		return 0
	}
	return int(v)
}

func (d *treeDecoder) str() string {
	n := d.count()
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}

func (d *treeDecoder) byte() byte {
	if len(d.b) == 0 {
		d.fail("truncated")
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *treeDecoder) params() []Param {
	n := d.count()
	if n == 0 {
		return nil
	}
	ps := make([]Param, 0, n)
	for range n {
		ps = append(ps, Param{Name: d.str(), Value: d.str()})
	}
	return ps
}

// offset reads an offset delta, keeping sums far from overflow.
func (d *treeDecoder) offset() int64 {
	v := d.uint()
	if v > math.MaxInt64/4 {
		d.fail("offset out of range")
		return 0
	}
	return int64(v)
}

// part decodes one part that must lie in [lo, hi].
func (d *treeDecoder) part(depth int, lo, hi int64) *Part {
	if depth > 2*MaxDepth+2 {
		d.fail("too deep")
		return nil
	}
	p := &Part{}
	p.HeaderStart = d.offset()
	p.BodyStart = p.HeaderStart + d.offset()
	p.BodyEnd = p.BodyStart + d.offset()
	if d.err == nil && (p.HeaderStart < lo || p.BodyEnd > hi) {
		d.fail(fmt.Sprintf("offsets %d/%d/%d outside [%d,%d]", p.HeaderStart, p.BodyStart, p.BodyEnd, lo, hi))
	}
	p.BodyLines = d.offset()
	p.MediaType = d.str()
	p.MediaSubtype = d.str()
	p.Params = d.params()
	p.ContentID = d.str()
	p.Description = d.str()
	p.Encoding = d.str()
	p.Disposition = d.str()
	p.DispositionParams = d.params()
	if n := d.count(); n > 0 {
		p.Language = make([]string, 0, n)
		for range n {
			p.Language = append(p.Language, d.str())
		}
	}
	p.Location = d.str()
	p.MD5 = d.str()
	if n := d.count(); n > 0 {
		p.Parts = make([]*Part, 0, n)
		for range n {
			c := d.part(depth+1, p.BodyStart, p.BodyEnd)
			if d.err != nil {
				return nil
			}
			p.Parts = append(p.Parts, c)
		}
	}
	has := d.byte()
	if has&^3 != 0 {
		d.fail("bad presence byte")
	}
	if has&1 != 0 {
		if p.Message = d.part(depth+1, p.BodyStart, p.BodyEnd); d.err != nil {
			return nil
		}
	}
	if has&2 != 0 {
		e := &Envelope{}
		e.Date = d.str()
		e.Subject = d.str()
		for _, l := range [...]*[]Address{&e.From, &e.Sender, &e.ReplyTo, &e.To, &e.Cc, &e.Bcc} {
			n := d.count()
			if n == 0 {
				continue
			}
			*l = make([]Address, 0, n)
			for range n {
				f := d.byte()
				if f&^3 != 0 {
					d.fail("bad address flags")
				}
				*l = append(*l, Address{GroupStart: f&1 != 0, GroupEnd: f&2 != 0, Name: d.str(), Adl: d.str(), Mailbox: d.str(), Host: d.str()})
			}
		}
		e.InReplyTo = d.str()
		e.MessageID = d.str()
		p.Envelope = e
	}
	if d.err != nil {
		return nil
	}
	return p
}
