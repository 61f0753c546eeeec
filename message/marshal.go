package message

import (
	"encoding/json"
	"errors"
	"fmt"
)

// ErrCorrupt is returned by Unmarshal for data that is not a part tree.
var ErrCorrupt = errors.New("message: corrupt part tree")

// Marshal encodes the part tree as JSON (the tags on Part), for the store
// to keep beside the raw message.
func Marshal(p *Part) ([]byte, error) {
	return json.Marshal(p)
}

// Unmarshal decodes a part tree written by Marshal. It checks that every
// part's offsets are ordered (HeaderStart <= BodyStart <= BodyEnd, none
// negative) and that the tree is not deeper than Parse makes it.
func Unmarshal(b []byte) (*Part, error) {
	var p Part
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	if err := check(&p, 0); err != nil {
		return nil, err
	}
	return &p, nil
}

func check(p *Part, depth int) error {
	if depth > 2*MaxDepth+2 {
		return fmt.Errorf("%w: too deep", ErrCorrupt)
	}
	if p.HeaderStart < 0 || p.HeaderStart > p.BodyStart || p.BodyStart > p.BodyEnd {
		return fmt.Errorf("%w: offsets %d/%d/%d", ErrCorrupt, p.HeaderStart, p.BodyStart, p.BodyEnd)
	}
	for _, c := range p.Parts {
		if c == nil {
			return fmt.Errorf("%w: null part", ErrCorrupt)
		}
		if err := check(c, depth+1); err != nil {
			return err
		}
	}
	if p.Message != nil {
		return check(p.Message, depth+1)
	}
	return nil
}
