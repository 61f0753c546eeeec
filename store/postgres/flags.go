package postgres

import (
	"time"
)

// uidArray converts uids for a bigint[] parameter.
func uidArray(uids []uint32) []int64 {
	out := make([]int64, len(uids))
	for i, u := range uids {
		out[i] = int64(u)
	}
	return out
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
