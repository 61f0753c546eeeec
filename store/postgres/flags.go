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
