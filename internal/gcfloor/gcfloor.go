// Package gcfloor raises the heap size below which the Go garbage
// collector does not start a cycle.
//
// The runtime starts a cycle when the heap has grown by GOGC % of the
// live heap, at least 4 MB. mailroom's live heap is small (about 5 MB
// serving a POP3 download), while reading message bodies from SQLite
// allocates their size (the driver copies every blob out): a 27.5 MB
// maildrop download ran 14 GC cycles. With GOMAXPROCS 2 each cycle's
// mark phase takes one of the two Ps, and the RETRs that overlapped one
// made the download's tail (docs/benchmarks.md, "The RETR tail").
//
// A Floor is a block of n bytes that nothing writes: the runtime counts
// it as live heap, so each cycle starts after about n more bytes of
// garbage, but its pages are never touched and take no memory. The cost
// is bounded: the heap holds at most about n bytes more garbage between
// cycles, whatever the live heap. Raising GOGC instead would multiply
// the live heap. The block counts against GOMEMLIMIT, if one is set.
package gcfloor

import "runtime"

// Floor holds the block; keep it reachable for as long as the floor is
// wanted (serve holds it until it returns).
type Floor struct{ b []byte }

// New returns a floor of n bytes; n <= 0 returns nil (no floor).
func New(n int64) *Floor {
	if n <= 0 {
		return nil
	}
	// A pointer-free allocation this large gets fresh pages from the
	// OS, already zero: the runtime does not clear them, so none is
	// touched.
	return &Floor{b: make([]byte, n)}
}

// Release lets the collector free the block (nil: nothing to do).
func (f *Floor) Release() {
	if f != nil {
		runtime.KeepAlive(f.b)
		f.b = nil
	}
}
