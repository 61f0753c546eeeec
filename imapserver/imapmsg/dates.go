package imapmsg

import (
	"fmt"
	"strings"
	"time"
)

var months = [...]string{"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"}

// ParseDate parses an IMAP date (RFC 9051 §9 "date"): "1-Feb-1994" or
// "01-Feb-1994", optionally in double quotes, month names case-insensitive.
// The result is midnight UTC of that day; only its year, month and day mean
// anything.
func ParseDate(s string) (time.Time, error) {
	s = unquoteDate(s)
	day, rest, ok1 := strings.Cut(s, "-")
	mon, year, ok2 := strings.Cut(rest, "-")
	if !ok1 || !ok2 || len(day) < 1 || len(day) > 2 || len(year) != 4 {
		return time.Time{}, fmt.Errorf("%w: bad date %q", ErrSyntax, s)
	}
	t, err := makeDate(day, mon, year)
	if err != nil {
		return time.Time{}, fmt.Errorf("%w: bad date %q", ErrSyntax, s)
	}
	return t, nil
}

// ParseDateTime parses an IMAP date-time (RFC 9051 §9 "date-time"), as
// APPEND gives INTERNALDATE: "17-Jul-1996 02:44:25 -0700", with or without
// the double quotes; the day may be " 7", "07" or "7".
func ParseDateTime(s string) (time.Time, error) {
	orig := s
	s = strings.TrimLeft(unquoteDate(s), " ")
	bad := func() (time.Time, error) { return time.Time{}, fmt.Errorf("%w: bad date-time %q", ErrSyntax, orig) }
	date, rest, ok := strings.Cut(s, " ")
	clock, zone, ok2 := strings.Cut(rest, " ")
	if !ok || !ok2 || len(clock) != 8 || clock[2] != ':' || clock[5] != ':' || len(zone) != 5 || (zone[0] != '+' && zone[0] != '-') {
		return bad()
	}
	d, err := ParseDate(date)
	if err != nil {
		return bad()
	}
	h, okh := digits(clock[0:2])
	m, okm := digits(clock[3:5])
	sec, oks := digits(clock[6:8])
	zh, okzh := digits(zone[1:3])
	zm, okzm := digits(zone[3:5])
	if !okh || !okm || !oks || !okzh || !okzm || h > 23 || m > 59 || sec > 60 || zm > 59 {
		return bad()
	}
	offset := (zh*60 + zm) * 60
	if zone[0] == '-' {
		offset = -offset
	}
	loc := time.FixedZone("", offset)
	return time.Date(d.Year(), d.Month(), d.Day(), h, m, sec, 0, loc), nil
}

// FormatInternalDate formats t as an IMAP date-time without the quotes:
// "17-Jul-1996 02:44:25 -0700", in t's own zone.
func FormatInternalDate(t time.Time) string {
	return t.Format("02-Jan-2006 15:04:05 -0700")
}

// FormatDate formats the date of t as an IMAP date: "1-Feb-1994".
func FormatDate(t time.Time) string {
	return t.Format("2-Jan-2006")
}

func unquoteDate(s string) string {
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		return s[1 : len(s)-1]
	}
	return s
}

func makeDate(day, mon, year string) (time.Time, error) {
	d, ok := digits(day)
	y, ok2 := digits(year)
	if !ok || !ok2 {
		return time.Time{}, ErrSyntax
	}
	for i, name := range months {
		if strings.EqualFold(mon, name) {
			t := time.Date(y, time.Month(i+1), d, 0, 0, 0, 0, time.UTC)
			if t.Day() != d {
				return time.Time{}, ErrSyntax // 31-Feb-...
			}
			return t, nil
		}
	}
	return time.Time{}, ErrSyntax
}

// digits parses a short run of ASCII digits.
func digits(s string) (int, bool) {
	if s == "" {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + int(s[i]-'0')
	}
	return n, true
}
