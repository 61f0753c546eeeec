package sqlite

import (
	"strconv"
	"time"
)

// uidsJSON encodes uids as a JSON array for json_each.
func uidsJSON(uids []uint32) string {
	b := make([]byte, 0, len(uids)*7+2)
	b = append(b, '[')
	for i, u := range uids {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendUint(b, uint64(u), 10)
	}
	return string(append(b, ']'))
}

func nowNano() int64 { return time.Now().UnixNano() }

// encodeTime stores t as unix nanoseconds plus its zone offset, so that
// INTERNALDATE comes back in the zone it was given in.
func encodeTime(t time.Time) (nano int64, offset int64) {
	_, off := t.Zone()
	return t.UnixNano(), int64(off)
}

func decodeTime(nano, offset int64) time.Time {
	return time.Unix(0, nano).In(time.FixedZone("", int(offset)))
}
