package store

import "math"

// OutboundBitmapBytes is the size of OutboundCounters.External: 8192
// bits, enough to count a few thousand distinct recipients a day within
// a few percent (linear counting).
const OutboundBitmapBytes = 1024

// OutboundCounters is one account's outbound submission usage on one
// day (UTC days since the epoch): what the per-account abuse limits of
// package delivery read, shared by every node on the store.
type OutboundCounters struct {
	Hour          int64 // the hour (since the epoch) HourMessages counts
	HourMessages  int64
	DayMessages   int64
	DayRecipients int64
	// DayFailed counts recipients that failed for good on the day
	// (AddOutboundFailed): the failed-recipient ratio's numerator.
	DayFailed int64
	// External is the OR of the bitmaps of the day's external
	// recipients (OutboundBit); nil for none yet.
	External []byte
	// Notified: the postmaster was told of this account today.
	Notified bool
}

// OutboundBit returns the byte and bit of External that a lower-cased
// recipient address sets (FNV-1a).
func OutboundBit(addr string) (int, byte) {
	h := uint64(14695981039346656037)
	for i := 0; i < len(addr); i++ {
		h ^= uint64(addr[i])
		h *= 1099511628211
	}
	n := int(h % (OutboundBitmapBytes * 8))
	return n / 8, 1 << (n % 8)
}

// OutboundDistinct estimates the number of distinct addresses in an
// External bitmap (linear counting); a full bitmap is +Inf.
func OutboundDistinct(bitmap []byte) float64 {
	m := float64(OutboundBitmapBytes * 8)
	zeros := m
	for _, b := range bitmap {
		for ; b != 0; b &= b - 1 {
			zeros--
		}
	}
	if zeros == 0 {
		return math.Inf(1)
	}
	return -m * math.Log(zeros/m)
}

// OrBitmaps returns a | b as a new OutboundBitmapBytes slice.
func OrBitmaps(a, b []byte) []byte {
	out := make([]byte, OutboundBitmapBytes)
	copy(out, a)
	for i := range min(len(b), len(out)) {
		out[i] |= b[i]
	}
	return out
}
