package recent

import (
	"strings"
	"testing"
	"time"
)

func TestRingKeepsTheLastNewestFirst(t *testing.T) {
	t.Parallel()
	r := NewRing(3)
	if got := r.Last(); len(got) != 0 {
		t.Fatalf("empty ring: %v", got)
	}
	t0 := time.Unix(1000, 0)
	for i := range 5 {
		r.Add(Event{Time: t0.Add(time.Duration(i) * time.Second), To: string(rune('a' + i))})
	}
	got := r.Last()
	var tos []string
	for _, e := range got {
		tos = append(tos, e.To)
	}
	if strings.Join(tos, "") != "edc" {
		t.Fatalf("last = %q, want e d c", tos)
	}
}

func TestEventFieldsBounded(t *testing.T) {
	t.Parallel()
	l := NewLog(2)
	long := strings.Repeat("é", 1000)
	l.OutboundFailure(time.Now(), long, long, "failed", long)
	e := l.Failures()[0]
	if len(e.From) > maxAddr+len("…") || len(e.To) > maxAddr+len("…") || len(e.Detail) > maxDetail+len("…") {
		t.Fatalf("fields not cut: %d %d %d", len(e.From), len(e.To), len(e.Detail))
	}
	if !strings.HasSuffix(e.Detail, "é…") {
		t.Fatalf("cut inside a rune: %q", e.Detail[len(e.Detail)-8:])
	}
	if len(l.Deliveries()) != 0 {
		t.Fatal("failure recorded as a delivery")
	}
}
