package message

import (
	"errors"
	"reflect"
	"testing"
)

func TestMarshalRoundTrip(t *testing.T) {
	for _, raw := range []string{walkthrough, nested, ""} {
		p := Parse([]byte(raw))
		b, err := Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		q, err := Unmarshal(b)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(p, q) {
			t.Errorf("round trip differs:\n%s", b)
		}
	}
	good, _ := Marshal(Parse([]byte(nested)))
	for _, bad := range []string{"", "[]", `{"hs":0,"bs":1,"be":9}`, "\x02", string(good[:len(good)-1]), string(good) + "x",
		// a child outside its parent's body; a presence byte with unknown bits
		"\x01\x00\x00\x05\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01\x06\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00",
		"\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x04"} {
		if _, err := Unmarshal([]byte(bad)); !errors.Is(err, ErrCorrupt) {
			t.Errorf("Unmarshal(%q) error %v", bad, err)
		}
	}
}
