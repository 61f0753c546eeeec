package main

import (
	"fmt"
	"math/rand/v2"
	"regexp"
	"sort"
	"strconv"
	"sync"
	"time"
)

var appendUIDRe = regexp.MustCompile(`APPENDUID \d+ (\d+)`)

// opTimes collects per-command latencies from many clients.
type opTimes struct {
	mu  sync.Mutex
	all []time.Duration
	by  map[string][]time.Duration
	err int
}

func (t *opTimes) record(op string, d time.Duration, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if err != nil {
		t.err++
		fmt.Println(op+":", err)
		return
	}
	t.all = append(t.all, d)
	t.by[op] = append(t.by[op], d)
}

// scenarioIMAP runs c clients for o.duration, each repeating the common
// client cycle against mix@domain: LOGIN, SELECT, FETCH 1:* (UID FLAGS
// RFC822.SIZE), header FETCH of the last 10, BODY[] of 3, STORE +FLAGS
// \Seen, SEARCH UNSEEN, NOOP and, every 5th cycle, APPEND + EXPUNGE of the
// appended message (the mailbox size stays constant), then LOGOUT.
func scenarioIMAP(o *options, r *Result) error {
	times := &opTimes{by: map[string][]time.Duration{}}
	stop := time.Now().Add(o.duration)
	var wg sync.WaitGroup
	cycles := 0
	var cmu sync.Mutex
	t0 := time.Now()
	for w := 0; w < o.c; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 11))
			for k := 0; time.Now().Before(stop); k++ {
				if err := imapCycle(o, nodeAddr(o.imapAddrs, w), rng, times, k%5 == 4); err != nil {
					times.record("cycle", 0, err)
					time.Sleep(100 * time.Millisecond)
					continue
				}
				cmu.Lock()
				cycles++
				cmu.Unlock()
			}
		}(w)
	}
	wg.Wait()
	el := time.Since(t0).Seconds()
	r.Errors = times.err
	r.add("commands", float64(len(times.all))/el, "ops/s", true)
	r.add("sessions (login..logout)", float64(cycles)/el, "cycles/s", true)
	r.add("command p50", percentile(times.all, 50), "ms", false)
	r.add("command p99", percentile(times.all, 99), "ms", false)
	ops := make([]string, 0, len(times.by))
	for op := range times.by {
		ops = append(ops, op)
	}
	sort.Strings(ops)
	for _, op := range ops {
		r.add(op+" p50", percentile(times.by[op], 50), "ms", false)
	}
	if cycles == 0 {
		return fmt.Errorf("no IMAP cycle completed")
	}
	return nil
}

func imapCycle(o *options, addr string, rng *rand.Rand, t *opTimes, doAppend bool) error {
	s := time.Now()
	ic, err := dialIMAP(addr)
	if err != nil {
		return err
	}
	defer ic.Close()
	timed := func(op string, f func() error) error {
		s := time.Now()
		err := f()
		t.record(op, time.Since(s), err)
		return err
	}
	if err := ic.login(user(o, "mix"), o.pass); err != nil {
		return err
	}
	t.record("LOGIN", time.Since(s), nil)
	var n int
	if err := timed("SELECT", func() error {
		lines, err := ic.cmd("SELECT INBOX")
		n = exists(lines)
		return err
	}); err != nil {
		return err
	}
	if n < 10 {
		return fmt.Errorf("mix mailbox has %d messages, want at least 10", n)
	}
	// Each step's command is made when it is sent, from the mailbox size
	// as the responses so far leave it.
	steps := []struct {
		op  string
		cmd func() string
	}{
		{"FETCH 1:* (UID FLAGS RFC822.SIZE)", func() string { return "FETCH 1:* (UID FLAGS RFC822.SIZE)" }},
		{"FETCH headers", func() string {
			return fmt.Sprintf("FETCH %d:* (UID BODY.PEEK[HEADER.FIELDS (FROM TO SUBJECT DATE MESSAGE-ID)])", max(1, n-9))
		}},
	}
	for i := 0; i < 3; i++ {
		steps = append(steps, struct {
			op  string
			cmd func() string
		}{"FETCH BODY[]", func() string { return fmt.Sprintf("FETCH %d BODY[]", 1+rng.IntN(n)) }})
	}
	steps = append(steps, []struct {
		op  string
		cmd func() string
	}{
		{"STORE +FLAGS \\Seen", func() string { return fmt.Sprintf("STORE %d,%d +FLAGS (\\Seen)", 1+rng.IntN(n), 1+rng.IntN(n)) }},
		{"STORE -FLAGS \\Seen", func() string { return fmt.Sprintf("STORE %d -FLAGS (\\Seen)", 1+rng.IntN(n)) }},
		{"SEARCH UNSEEN", func() string { return "SEARCH UNSEEN" }},
		{"NOOP", func() string { return "NOOP" }},
	}...)
	for _, st := range steps {
		if n < 1 {
			return fmt.Errorf("mix mailbox emptied under the benchmark")
		}
		if err := timed(st.op, func() error {
			lines, err := ic.cmd("%s", st.cmd())
			n = messageCount(n, lines)
			return err
		}); err != nil {
			return err
		}
	}
	if doAppend {
		msg := makeMessage(rng, rng.IntN(1<<20), 2<<10+rng.IntN(8<<10), user(o, "mix"))
		var uid string
		if err := timed("APPEND", func() error {
			line, err := ic.appendMsgTagged("INBOX", "", msg)
			if m := appendUIDRe.FindStringSubmatch(line); m != nil {
				uid = m[1]
			}
			return err
		}); err != nil {
			return err
		}
		if _, err := strconv.Atoi(uid); err != nil {
			return fmt.Errorf("APPEND: no APPENDUID")
		}
		if err := timed("UID STORE +FLAGS \\Deleted", func() error {
			_, err := ic.cmd("UID STORE %s +FLAGS.SILENT (\\Deleted)", uid)
			return err
		}); err != nil {
			return err
		}
		if err := timed("EXPUNGE", func() error { _, err := ic.cmd("UID EXPUNGE %s", uid); return err }); err != nil {
			return err
		}
	}
	return timed("LOGOUT", func() error { _, err := ic.cmd("LOGOUT"); return err })
}
