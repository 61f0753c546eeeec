package config

import (
	"strings"
	"testing"
)

// limits.gc_heap_floor_bytes: 32 MiB by default, 0 turns it off, more
// than 4 GiB or negative is refused.
func TestGCHeapFloor(t *testing.T) {
	if got := Default().Limits.GCHeapFloorBytes; got != 32<<20 {
		t.Errorf("default %d, want 32 MiB", got)
	}
	c, err := Load(writeFile(t, "[limits]\ngc_heap_floor_bytes = 0\n"))
	if err != nil || c.Limits.GCHeapFloorBytes != 0 {
		t.Errorf("gc_heap_floor_bytes = 0: %d, %v", c.Limits.GCHeapFloorBytes, err)
	}
	for _, v := range []string{"-1", "4294967297"} {
		_, err := Load(writeFile(t, "[limits]\ngc_heap_floor_bytes = "+v+"\n"))
		if err == nil || !strings.Contains(err.Error(), "gc_heap_floor_bytes") {
			t.Errorf("gc_heap_floor_bytes = %s: error %v", v, err)
		}
	}
}
