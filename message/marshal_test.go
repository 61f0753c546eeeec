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
	for _, bad := range []string{"", "[]", `{"hs":5,"bs":1,"be":9}`, `{"hs":0,"bs":1,"be":9,"c":[null]}`, `{"m":{"hs":-1}}`} {
		if _, err := Unmarshal([]byte(bad)); !errors.Is(err, ErrCorrupt) {
			t.Errorf("Unmarshal(%q) error %v", bad, err)
		}
	}
}
