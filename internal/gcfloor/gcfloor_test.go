package gcfloor

import (
	"runtime"
	"runtime/metrics"
	"testing"
)

func heapGoal() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/goal:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// After a cycle with a floor of 64 MiB, the next cycle waits for the
// heap to pass the floor; released, the goal falls back.
func TestFloorRaisesHeapGoal(t *testing.T) {
	const n = 64 << 20
	runtime.GC()
	if g := heapGoal(); g >= n {
		t.Fatalf("heap goal %d before the floor: test needs a small heap", g)
	}
	f := New(n)
	runtime.GC()
	if g := heapGoal(); g < n {
		t.Errorf("heap goal %d with a floor of %d", g, n)
	}
	f.Release()
	runtime.GC()
	if g := heapGoal(); g >= n {
		t.Errorf("heap goal %d after Release", g)
	}
	if New(0) != nil || New(-1) != nil {
		t.Error("New(<= 0) should be nil")
	}
	New(0).Release() // nil is safe
}
