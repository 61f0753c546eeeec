package sqlcore

import (
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestAppendUIDList(t *testing.T) {
	for _, tc := range []struct {
		list string
		want []uint32
	}{
		{"", nil},
		{"7", []uint32{7}},
		{"3,1,4294967295", []uint32{3, 1, 4294967295}},
	} {
		got, err := appendUIDList([]uint32{9}, tc.list)
		if err != nil || !slices.Equal(got, append([]uint32{9}, tc.want...)) {
			t.Errorf("appendUIDList(%q) = %v, %v; want 9 then %v", tc.list, got, err, tc.want)
		}
	}
	for _, bad := range []string{",", "1,", ",1", "1,,2", "4294967296", "1;2", "-1", "1 ", "99999999999999999999"} {
		if got, err := appendUIDList(nil, bad); err == nil {
			t.Errorf("appendUIDList(%q) = %v, want an error", bad, got)
		}
	}
}

// FuzzAppendUIDList: a list either parses to what splitting it at
// commas and parsing each number gives, or is rejected.
func FuzzAppendUIDList(f *testing.F) {
	for _, s := range []string{"", "1", "1,2,3", "4294967295,0", "1,", ",", "4294967296", "01,2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, list string) {
		got, err := appendUIDList(nil, list)
		var want []uint32
		ok := true
		if list != "" {
			for _, p := range strings.Split(list, ",") {
				u, perr := strconv.ParseUint(p, 10, 32)
				if perr != nil || strings.ContainsAny(p, "+-") {
					ok = false
					break
				}
				want = append(want, uint32(u))
			}
		}
		if (err == nil) != ok || ok && !slices.Equal(got, want) {
			t.Fatalf("appendUIDList(%q) = %v, %v; want %v (valid %v)", list, got, err, want, ok)
		}
	})
}
