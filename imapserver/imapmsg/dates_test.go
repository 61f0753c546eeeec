package imapmsg

import (
	"errors"
	"testing"
	"time"
)

func TestParseDate(t *testing.T) {
	for in, want := range map[string]time.Time{
		"1-Feb-1994":    time.Date(1994, 2, 1, 0, 0, 0, 0, time.UTC),
		"01-Feb-1994":   time.Date(1994, 2, 1, 0, 0, 0, 0, time.UTC),
		"31-dec-2024":   time.Date(2024, 12, 31, 0, 0, 0, 0, time.UTC),
		`"29-FEB-2024"`: time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC),
	} {
		got, err := ParseDate(in)
		if err != nil || !got.Equal(want) {
			t.Errorf("ParseDate(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "1-Feb-94", "001-Feb-1994", "1-Febr-1994", "32-Jan-2000", "29-Feb-2023", "0-Jan-2000", "1 Feb 1994", "1-Feb-1994 ", "a-Feb-1994", `"1-Feb-1994`} {
		if got, err := ParseDate(bad); !errors.Is(err, ErrSyntax) {
			t.Errorf("ParseDate(%q) = %v, %v; want ErrSyntax", bad, got, err)
		}
	}
	if got := FormatDate(time.Date(1994, 2, 1, 23, 0, 0, 0, time.UTC)); got != "1-Feb-1994" {
		t.Errorf("FormatDate = %q", got)
	}
}

func TestParseDateTime(t *testing.T) {
	want := time.Date(1996, 7, 17, 9, 44, 25, 0, time.UTC)
	for _, in := range []string{`"17-Jul-1996 02:44:25 -0700"`, "17-Jul-1996 02:44:25 -0700", "17-Jul-1996 11:14:25 +0130"} {
		got, err := ParseDateTime(in)
		if err != nil || !got.Equal(want) {
			t.Errorf("ParseDateTime(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	got, err := ParseDateTime(`" 7-Jul-1996 02:44:25 +0000"`)
	if err != nil || !got.Equal(time.Date(1996, 7, 7, 2, 44, 25, 0, time.UTC)) {
		t.Errorf("space-padded day: %v, %v", got, err)
	}
	for _, bad := range []string{"", "17-Jul-1996", "17-Jul-1996 02:44:25", "17-Jul-1996 24:00:00 +0000", "17-Jul-1996 2:44:25 +0000", "17-Jul-1996 02:44:25 0700", "17-Jul-1996 02:44:25 -07:00", "17-Jul-1996  02:44:25 -0700"} {
		if got, err := ParseDateTime(bad); !errors.Is(err, ErrSyntax) {
			t.Errorf("ParseDateTime(%q) = %v, %v; want ErrSyntax", bad, got, err)
		}
	}
}

func TestFormatInternalDate(t *testing.T) {
	in := time.Date(1996, 7, 7, 2, 44, 25, 0, time.FixedZone("", -7*3600))
	s := FormatInternalDate(in)
	if s != "07-Jul-1996 02:44:25 -0700" {
		t.Errorf("FormatInternalDate = %q", s)
	}
	back, err := ParseDateTime(s)
	if err != nil || !back.Equal(in) {
		t.Errorf("round trip: %v, %v", back, err)
	}
}
