package main

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func metric(t *testing.T, r *Result, name string) float64 {
	t.Helper()
	for _, m := range r.Metrics {
		if m.Name == name {
			return m.Value
		}
	}
	t.Fatalf("no metric %q in %+v", name, r.Metrics)
	return 0
}

// pass makes a download of 1 MB whose RETRs took d each.
func pass(n int, d time.Duration) popPass {
	p := popPass{n: n, bytes: 1e6, retrD: time.Duration(n) * d, session: time.Duration(n)*d + time.Millisecond}
	for range n {
		p.retr = append(p.retr, d)
		p.sizes = append(p.sizes, 1e6/int64(n))
		p.starts = append(p.starts, time.Unix(1, 0))
	}
	return p
}

// Throughput is the median pass's, the first pass has its own row, and
// the percentiles are over every pass's RETRs.
func TestAddPOP3Aggregates(t *testing.T) {
	// 1 MB in 100 RETRs of 1 ms: 10 MB/s; of 0.5 ms: 20 MB/s; 10 ms: 1 MB/s.
	passes := []popPass{pass(100, 10*time.Millisecond), pass(100, time.Millisecond), pass(100, time.Millisecond/2)}
	var r Result
	addPOP3(&r, passes)
	for name, want := range map[string]float64{
		"passes":                        3,
		"RETR throughput":               10,
		"RETR throughput, first pass":   1,
		"RETR throughput, slowest pass": 1,
		"RETR throughput, fastest pass": 20,
		"RETR rate":                     1000,
		"RETR p50":                      1,
		"RETR p99":                      10,
		"whole session":                 101,
	} {
		if got := metric(t, &r, name); got < want*0.999 || got > want*1.001 {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	// Even count: the lower of the two middle passes.
	r = Result{}
	addPOP3(&r, passes[:2])
	if got := metric(t, &r, "RETR throughput"); got != 1 {
		t.Errorf("median of 2 passes = %v, want the lower (1)", got)
	}
}

func TestWriteRetrLog(t *testing.T) {
	name := filepath.Join(t.TempDir(), "retr.tsv")
	if err := writeRetrLog(name, []popPass{pass(2, time.Millisecond), pass(1, 3*time.Millisecond)}); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	want := "pass\tmsg\tbytes\tstart_unix_us\tlatency_us\n" +
		"1\t1\t500000\t1000000\t1000\n1\t2\t500000\t1000000\t1000\n" +
		"2\t1\t1000000\t1000000\t3000\n"
	if string(b) != want {
		t.Errorf("log:\n%s\nwant:\n%s", b, want)
	}
}
