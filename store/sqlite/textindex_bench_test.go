package sqlite

import (
	"testing"

	"github.com/mailroom/mailroom/store/storetest"
)

// BenchmarkDeliverParallelText is BenchmarkDeliverParallel with messages
// of realistic size and text, whose full-text index entries cost most.
func BenchmarkDeliverParallelText(b *testing.B) {
	storetest.BenchDeliverParallelText(b, openTest(b))
}
