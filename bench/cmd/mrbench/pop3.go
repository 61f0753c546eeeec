package main

import (
	"bufio"
	"fmt"
	"os"
	"sort"
	"time"
)

// popPass is one download of the maildrop: what scenarioPOP3 measures in
// one session.
type popPass struct {
	n                 int             // messages (STAT)
	bytes             int64           // bytes received in RETR responses
	retr              []time.Duration // each RETR, in order
	sizes             []int64         // each RETR's bytes
	starts            []time.Time     // when each RETR was sent
	retrD, stat, uidl time.Duration   // all RETRs; STAT; UIDL
	session           time.Duration   // connect to QUIT
}

func (p *popPass) throughput() float64 { return float64(p.bytes) / p.retrD.Seconds() / 1e6 }

// scenarioPOP3 downloads the whole pop@domain maildrop o.passes times,
// one session after the other: STAT, UIDL, RETR of every message, QUIT
// (nothing deleted). A single download (1,000 RETRs, about 0.15 s) is
// decided by a few slow RETRs and varies 3× from run to run on one
// machine (docs/benchmarks.md "POP3 RETR after read-ahead"), so the
// figures are the median pass's, with RETR p50/p99 over every pass's
// RETRs, and the first pass's throughput as its own row.
func scenarioPOP3(o *options, r *Result) error {
	if o.passes < 1 {
		return fmt.Errorf("-passes %d: at least 1", o.passes)
	}
	var passes []popPass
	for range o.passes {
		p, err := popDownload(o)
		if err != nil {
			return err
		}
		passes = append(passes, p)
	}
	if o.retrLog != "" {
		if err := writeRetrLog(o.retrLog, passes); err != nil {
			return err
		}
	}
	addPOP3(r, passes)
	return nil
}

// addPOP3 puts the passes' figures into r: throughput, rate, STAT, UIDL
// and whole session of the median pass (by throughput; the lower middle
// one for an even count), RETR percentiles over all passes' RETRs, the
// first pass's throughput, and the slowest and fastest pass's.
func addPOP3(r *Result, passes []popPass) {
	byTP := make([]int, len(passes))
	for i := range byTP {
		byTP[i] = i
	}
	sort.SliceStable(byTP, func(a, b int) bool { return passes[byTP[a]].throughput() < passes[byTP[b]].throughput() })
	med := &passes[byTP[(len(byTP)-1)/2]]
	var all []time.Duration
	for _, p := range passes {
		all = append(all, p.retr...)
	}
	r.add("messages", float64(med.n), "msgs", true)
	r.add("passes", float64(len(passes)), "sessions", true)
	r.add("RETR throughput", med.throughput(), "MB/s", true)
	r.add("RETR throughput, first pass", passes[0].throughput(), "MB/s", true)
	r.add("RETR throughput, slowest pass", passes[byTP[0]].throughput(), "MB/s", true)
	r.add("RETR throughput, fastest pass", passes[byTP[len(byTP)-1]].throughput(), "MB/s", true)
	r.add("RETR rate", float64(med.n)/med.retrD.Seconds(), "msg/s", true)
	r.add("RETR p50", percentile(all, 50), "ms", false)
	r.add("RETR p99", percentile(all, 99), "ms", false)
	r.add("RETR p99.9", percentile(all, 99.9), "ms", false)
	r.add("STAT", ms(med.stat), "ms", false)
	r.add("UIDL", ms(med.uidl), "ms", false)
	r.add("whole session", ms(med.session), "ms", false)
}

// popDownload is one pass: a session that logs in as pop@domain and
// downloads every message.
func popDownload(o *options) (popPass, error) {
	var p popPass
	t0 := time.Now()
	pc, err := dialPOP3(o.popAddr)
	if err != nil {
		return p, err
	}
	defer pc.c.Close()
	if _, err := pc.cmd("USER %s", user(o, "pop")); err != nil {
		return p, err
	}
	if _, err := pc.cmd("PASS %s", o.pass); err != nil {
		return p, err
	}
	s := time.Now()
	stat, err := pc.cmd("STAT")
	if err != nil {
		return p, err
	}
	p.stat = time.Since(s)
	var size int64
	fmt.Sscanf(stat, "+OK %d %d", &p.n, &size)
	if p.n == 0 {
		return p, fmt.Errorf("empty maildrop")
	}
	s = time.Now()
	if _, err := pc.cmd("UIDL"); err != nil {
		return p, err
	}
	_, lines, err := pc.multi()
	if err != nil {
		return p, err
	}
	p.uidl = time.Since(s)
	if lines != p.n {
		return p, fmt.Errorf("UIDL listed %d of %d messages", lines, p.n)
	}
	p.retr = make([]time.Duration, 0, p.n)
	rs := time.Now()
	for i := 1; i <= p.n; i++ {
		s := time.Now()
		if _, err := pc.cmd("RETR %d", i); err != nil {
			return p, err
		}
		b, _, err := pc.multi()
		if err != nil {
			return p, err
		}
		p.bytes += b
		p.retr = append(p.retr, time.Since(s))
		p.sizes = append(p.sizes, b)
		p.starts = append(p.starts, s)
	}
	p.retrD = time.Since(rs)
	if _, err := pc.cmd("QUIT"); err != nil {
		return p, err
	}
	p.session = time.Since(t0)
	return p, nil
}

// writeRetrLog writes one line per RETR: pass, message number, bytes,
// when it was sent (Unix µs, to line up with a server trace) and its
// latency in µs.
func writeRetrLog(name string, passes []popPass) error {
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	fmt.Fprintln(w, "pass\tmsg\tbytes\tstart_unix_us\tlatency_us")
	for pi, p := range passes {
		for i, d := range p.retr {
			fmt.Fprintf(w, "%d\t%d\t%d\t%d\t%d\n", pi+1, i+1, p.sizes[i], p.starts[i].UnixMicro(), d.Microseconds())
		}
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
