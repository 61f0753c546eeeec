package sieve

import (
	"fmt"
	"net/mail"
	"strings"
	"time"
)

// parseZone parses a +hhmm/-hhmm zone (RFC 5260 §4.1).
func parseZone(z string) (*time.Location, bool) {
	if len(z) != 5 || (z[0] != '+' && z[0] != '-') {
		return nil, false
	}
	for i := 1; i < 5; i++ {
		if !isDigit(z[i]) {
			return nil, false
		}
	}
	h := int(z[1]-'0')*10 + int(z[2]-'0')
	m := int(z[3]-'0')*10 + int(z[4]-'0')
	if h > 23 || m > 59 {
		return nil, false
	}
	off := h*3600 + m*60
	if z[0] == '-' {
		off = -off
	}
	return time.FixedZone(z, off), true
}

func zoneString(t time.Time) string {
	_, off := t.Zone()
	sign := byte('+')
	if off < 0 {
		sign, off = '-', -off
	}
	return fmt.Sprintf("%c%02d%02d", sign, off/3600, off%3600/60)
}

// datePart extracts a date-part (RFC 5260 §2.3).
func datePart(t time.Time, part string) string {
	switch strings.ToLower(part) {
	case "year":
		return fmt.Sprintf("%04d", t.Year())
	case "month":
		return fmt.Sprintf("%02d", int(t.Month()))
	case "day":
		return fmt.Sprintf("%02d", t.Day())
	case "date":
		return t.Format("2006-01-02")
	case "julian":
		// Modified Julian Day: days since 1858-11-17 in the given zone.
		y, m, d := t.Date()
		day := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
		return itoa(int(day.Sub(time.Date(1858, 11, 17, 0, 0, 0, 0, time.UTC)).Hours() / 24))
	case "hour":
		return fmt.Sprintf("%02d", t.Hour())
	case "minute":
		return fmt.Sprintf("%02d", t.Minute())
	case "second":
		return fmt.Sprintf("%02d", t.Second())
	case "time":
		return t.Format("15:04:05")
	case "iso8601":
		return t.Format("2006-01-02T15:04:05") + isoZone(t)
	case "std11":
		return t.Format("Mon, 02 Jan 2006 15:04:05 ") + zoneString(t)
	case "zone":
		return zoneString(t)
	case "weekday":
		return itoa(int(t.Weekday()))
	}
	return ""
}

func isoZone(t time.Time) string {
	z := zoneString(t)
	if z == "+0000" {
		return "Z"
	}
	return z[:3] + ":" + z[3:]
}

// dateTest implements date and currentdate (RFC 5260 §4, §5).
func (r *runner) dateTest(t *cmd) (bool, error) {
	loc := r.now.Location()
	original := false
	if a, ok := t.tags["zone"]; ok {
		z, ok := parseZone(r.expand(a.Strs[0]))
		if !ok {
			return false, nil
		}
		loc = z
	}
	if _, ok := t.tags["originalzone"]; ok {
		original = true
	}
	var when time.Time
	var part string
	if t.name == "currentdate" {
		when = r.now
		part = r.expand(t.pos[0].Strs[0])
	} else {
		vals := r.indexed(t, r.header(r.expand(t.pos[0].Strs[0])))
		if len(vals) == 0 {
			return false, nil
		}
		v := vals[0]
		if strings.EqualFold(t.pos[0].Strs[0], "received") {
			if i := strings.LastIndexByte(v, ';'); i >= 0 {
				v = v[i+1:]
			}
		}
		d, err := mail.ParseDate(strings.TrimSpace(v))
		if err != nil {
			return false, nil
		}
		when = d
		part = r.expand(t.pos[1].Strs[0])
	}
	if !original {
		when = when.In(loc)
	}
	if !dateParts[strings.ToLower(part)] {
		return false, r.errf("%s: unknown date part '%s'", t.name, part)
	}
	keys := t.pos[len(t.pos)-1].Strs
	return r.match(t, []string{datePart(when, part)}, keys)
}
