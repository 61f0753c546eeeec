package imapmsg

import (
	"errors"
	"reflect"
	"testing"
)

func TestParseNumSet(t *testing.T) {
	tests := []struct {
		in   string
		want NumSet
		str  string
	}{
		{"1", NumSet{Ranges: []NumRange{{1, 1}}}, "1"},
		{"1:3,5", NumSet{Ranges: []NumRange{{1, 3}, {5, 5}}}, "1:3,5"},
		{"2:*", NumSet{Ranges: []NumRange{{2, 0}}}, "2:*"},
		{"*", NumSet{Ranges: []NumRange{{0, 0}}}, "*"},
		{"*:4", NumSet{Ranges: []NumRange{{0, 4}}}, "*:4"},
		{"5:2", NumSet{Ranges: []NumRange{{5, 2}}}, "5:2"},
		{"$", NumSet{Saved: true}, "$"},
		{"4294967295", NumSet{Ranges: []NumRange{{4294967295, 4294967295}}}, "4294967295"},
		{"3:3", NumSet{Ranges: []NumRange{{3, 3}}}, "3"},
	}
	for _, tt := range tests {
		got, err := ParseNumSet(tt.in)
		if err != nil {
			t.Errorf("ParseNumSet(%q): %v", tt.in, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseNumSet(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
		if s := got.String(); s != tt.str {
			t.Errorf("ParseNumSet(%q).String() = %q, want %q", tt.in, s, tt.str)
		}
	}
	for _, bad := range []string{"", "0", "01", "1:", ":1", "1,,2", "1,", ",1", "a", "1:2:3", "4294967296", "$,1", "1,$", " 1", "1 ", "-1", "+1", "**"} {
		if s, err := ParseNumSet(bad); !errors.Is(err, ErrSyntax) {
			t.Errorf("ParseNumSet(%q) = %+v, %v; want ErrSyntax", bad, s, err)
		}
	}
}

func TestNumSetContains(t *testing.T) {
	set := func(s string) NumSet {
		t.Helper()
		ns, err := ParseNumSet(s)
		if err != nil {
			t.Fatal(err)
		}
		return ns
	}
	tests := []struct {
		set   string
		max   uint32
		in    []uint32
		notIn []uint32
	}{
		{"1:3,5", 10, []uint32{1, 2, 3, 5}, []uint32{0, 4, 6, 10}},
		{"2:*", 5, []uint32{2, 3, 4, 5}, []uint32{1, 6}},
		{"*", 5, []uint32{5}, []uint32{1, 4, 6}},
		// RFC 9051 §6.4.1: "4:*" with max 2 is 2:4, so it contains 2.
		{"4:*", 2, []uint32{2, 3, 4}, []uint32{1, 5}},
		{"5:2", 9, []uint32{2, 3, 4, 5}, []uint32{1, 6}},
		{"*", 0, nil, []uint32{0, 1}},
		{"1:*", 0, []uint32{1}, []uint32{0, 2}},
		{"$", 5, nil, []uint32{1, 5}},
	}
	for _, tt := range tests {
		s := set(tt.set)
		for _, n := range tt.in {
			if !s.Contains(n, tt.max) {
				t.Errorf("%q.Contains(%d, max %d) = false, want true", tt.set, n, tt.max)
			}
		}
		for _, n := range tt.notIn {
			if s.Contains(n, tt.max) {
				t.Errorf("%q.Contains(%d, max %d) = true, want false", tt.set, n, tt.max)
			}
		}
	}
}

func TestNumSetResolve(t *testing.T) {
	tests := []struct {
		set  string
		max  uint32
		want []NumRange
		nums []uint32
	}{
		{"4:*", 2, []NumRange{{2, 4}}, []uint32{2}},
		{"5,1:3,2,4", 9, []NumRange{{1, 5}}, []uint32{1, 2, 3, 4, 5}},
		{"7:5,1", 9, []NumRange{{1, 1}, {5, 7}}, []uint32{1, 5, 6, 7}},
		{"*,1", 3, []NumRange{{1, 1}, {3, 3}}, []uint32{1, 3}},
		{"*", 0, nil, nil},
		{"1:4294967295", 2, []NumRange{{1, 4294967295}}, []uint32{1, 2}},
		{"4294967295,1:4294967294", 4294967295, []NumRange{{1, 4294967295}}, nil},
	}
	for _, tt := range tests {
		s, err := ParseNumSet(tt.set)
		if err != nil {
			t.Fatal(err)
		}
		if got := s.Resolve(tt.max); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%q.Resolve(%d) = %v, want %v", tt.set, tt.max, got, tt.want)
		}
		if tt.max < 1000 {
			if got := s.Nums(tt.max); !reflect.DeepEqual(got, tt.nums) {
				t.Errorf("%q.Nums(%d) = %v, want %v", tt.set, tt.max, got, tt.nums)
			}
		}
	}
	if (NumSet{Saved: true}).Resolve(5) != nil {
		t.Error("$ resolved to something")
	}
}

func TestNumSetFromNums(t *testing.T) {
	tests := []struct {
		in   []uint32
		want string
	}{
		{nil, ""},
		{[]uint32{1, 2, 3, 5}, "1:3,5"},
		{[]uint32{5, 3, 1, 2, 2, 0}, "1:3,5"},
		{[]uint32{7}, "7"},
		{[]uint32{4294967294, 4294967295, 1}, "1,4294967294:4294967295"},
	}
	for _, tt := range tests {
		got := NumSetFromNums(tt.in)
		if got.String() != tt.want {
			t.Errorf("NumSetFromNums(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
	in := []uint32{3, 1, 2}
	NumSetFromNums(in)
	if !reflect.DeepEqual(in, []uint32{3, 1, 2}) {
		t.Error("NumSetFromNums modified its argument")
	}
}

func TestNumSetDynamic(t *testing.T) {
	for s, want := range map[string]bool{"1:3": false, "1:*": true, "*": true, "$": false} {
		ns, _ := ParseNumSet(s)
		if ns.Dynamic() != want {
			t.Errorf("%q.Dynamic() = %v", s, !want)
		}
	}
}
