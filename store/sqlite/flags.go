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
