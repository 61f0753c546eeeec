package main

import (
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The "stay logged in" variant of the IMAP mix (scenario imap-stay): each
// of the c clients logs in and selects INBOX before the measured window,
// then repeats the mix's commands (FETCH flags, header FETCH, BODY[] of 3,
// STORE ±FLAGS, SEARCH UNSEEN, NOOP) with no LOGIN, SELECT or LOGOUT in
// the window, so a command's latency is not the CPU left over by argon2id.
// -only keeps a subset of the steps. With -cpuprofile DIR and -pprof URL
// (a server with Go's /debug/pprof/, mailroom with pprof = true) it then
// runs each step alone for -profile-seconds while fetching the server's CPU
// profile into DIR/<step>.pprof: a per-command profile.

// stayStep is one command of the mix, named as the imap scenario names it.
type stayStep struct {
	op  string
	cmd func(n int, rng *rand.Rand) string
}

var staySteps = []stayStep{
	{"FETCH 1:* (UID FLAGS RFC822.SIZE)", func(int, *rand.Rand) string { return "FETCH 1:* (UID FLAGS RFC822.SIZE)" }},
	{"FETCH headers", func(n int, _ *rand.Rand) string {
		return fmt.Sprintf("FETCH %d:* (UID BODY.PEEK[HEADER.FIELDS (FROM TO SUBJECT DATE MESSAGE-ID)])", n-9)
	}},
	{"FETCH BODY[]", func(n int, rng *rand.Rand) string { return fmt.Sprintf("FETCH %d BODY[]", 1+rng.IntN(n)) }},
	{"STORE +FLAGS \\Seen", func(n int, rng *rand.Rand) string {
		return fmt.Sprintf("STORE %d,%d +FLAGS (\\Seen)", 1+rng.IntN(n), 1+rng.IntN(n))
	}},
	{"STORE -FLAGS \\Seen", func(n int, rng *rand.Rand) string { return fmt.Sprintf("STORE %d -FLAGS (\\Seen)", 1+rng.IntN(n)) }},
	{"SEARCH UNSEEN", func(int, *rand.Rand) string { return "SEARCH UNSEEN" }},
	{"NOOP", func(int, *rand.Rand) string { return "NOOP" }},
}

// pickSteps returns the steps named in only (comma-separated; empty: all).
func pickSteps(only string) ([]stayStep, error) {
	names := splitList(only)
	if len(names) == 0 {
		return staySteps, nil
	}
	var out []stayStep
	for _, name := range names {
		found := false
		for _, st := range staySteps {
			if strings.EqualFold(st.op, name) {
				out = append(out, st)
				found = true
			}
		}
		if !found {
			var known []string
			for _, st := range staySteps {
				known = append(known, st.op)
			}
			return nil, fmt.Errorf("-only: unknown step %q (known: %s)", name, strings.Join(known, "; "))
		}
	}
	return out, nil
}

// staySession is one logged-in client.
type staySession struct {
	ic  *imapConn
	n   int
	rng *rand.Rand
}

func openStaySessions(o *options) ([]*staySession, error) {
	ss := make([]*staySession, o.c)
	errs := make([]error, o.c)
	var wg sync.WaitGroup
	for w := range ss {
		wg.Go(func() {
			ic, err := dialIMAP(nodeAddr(o.imapAddrs, w))
			if err != nil {
				errs[w] = err
				return
			}
			if err := ic.login(user(o, "mix"), o.pass); err != nil {
				ic.Close()
				errs[w] = err
				return
			}
			lines, err := ic.cmd("SELECT INBOX")
			if err == nil && exists(lines) < 10 {
				err = fmt.Errorf("mix mailbox has %d messages, want at least 10", exists(lines))
			}
			if err != nil {
				ic.Close()
				errs[w] = err
				return
			}
			ss[w] = &staySession{ic: ic, n: exists(lines), rng: rand.New(rand.NewPCG(uint64(w), 13))}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			closeStaySessions(ss)
			return nil, err
		}
	}
	return ss, nil
}

func closeStaySessions(ss []*staySession) {
	for _, s := range ss {
		if s != nil {
			s.ic.cmd("LOGOUT")
			s.ic.Close()
		}
	}
}

// runSteps has every session repeat steps until d has passed. With rate >
// 0 the sessions together send rate commands per second (open loop: see
// pace); otherwise each sends its next command as soon as its last is
// answered (closed loop). late counts the commands sent more than a
// millisecond after they were due.
func runSteps(ss []*staySession, steps []stayStep, d time.Duration, rate float64, times *opTimes) (elapsed time.Duration, late int64) {
	t0 := time.Now()
	stop := t0.Add(d)
	var lateN atomic.Int64
	var wg sync.WaitGroup
	for w, s := range ss {
		wg.Go(func() {
			k := 0 // commands this session sent
			// At least one round: a session whose goroutine started
			// after stop (a loaded machine, a short run) still reports.
			for first := true; first || time.Now().Before(stop); first = false {
				for _, st := range steps {
					c := st.cmd(s.n, s.rng)
					t := time.Now()
					if rate > 0 {
						t = pace(t0, k, w, len(ss), rate)
						if time.Since(t) > time.Millisecond {
							lateN.Add(1)
						}
						k++
					}
					lines, err := s.ic.cmd("%s", c)
					times.record(st.op, time.Since(t), err)
					s.n = messageCount(s.n, lines)
					if err != nil {
						return
					}
				}
			}
		})
	}
	wg.Wait()
	return time.Since(t0), lateN.Load()
}

// pace waits until command k of session w of n is due, at t0 + (k·n +
// w)/rate (the sessions' commands interleaved, rate per second in all),
// and returns the time its latency counts from: when it is sent if that
// is on time; when it was due if the session was still waiting for its
// previous answer then. A server that falls behind is charged for the
// wait, not spared by a client that slowed down with it (no coordinated
// omission).
func pace(t0 time.Time, k, w, n int, rate float64) time.Time {
	due := t0.Add(time.Duration(float64(k*n+w) / rate * float64(time.Second)))
	if wait := time.Until(due); wait > 0 {
		time.Sleep(wait)
		return time.Now()
	}
	return due
}

// scenarioIMAPStay runs the mix closed loop (imap-stay) or, with -rate,
// open loop at that rate (imap-rate). In a closed loop a faster server is
// sent more commands at once, which then wait for each other on the same
// cores; at one fixed rate, below both servers' capacity, two servers'
// per-command latencies compare under the same load.
func scenarioIMAPStay(o *options, r *Result) error {
	if (o.scenario == "imap-rate") != (o.rate > 0) {
		return fmt.Errorf("-rate goes with scenario imap-rate, and only with it")
	}
	steps, err := pickSteps(o.only)
	if err != nil {
		return err
	}
	if (o.cpuProfile == "") != (o.pprofURL == "") {
		return fmt.Errorf("-cpuprofile and -pprof go together")
	}
	ss, err := openStaySessions(o)
	if err != nil {
		return err
	}
	defer closeStaySessions(ss)
	times := &opTimes{by: map[string][]time.Duration{}}
	d, late := runSteps(ss, steps, o.duration, o.rate, times)
	el := d.Seconds()
	r.Errors = times.err
	r.add("commands", float64(len(times.all))/el, "ops/s", true)
	if o.rate > 0 {
		r.add("offered rate", o.rate, "ops/s", true)
		r.add("commands sent late", 100*float64(late)/float64(max(1, len(times.all))), "%", false)
	}
	r.add("command p50", percentile(times.all, 50), "ms", false)
	r.add("command p99", percentile(times.all, 99), "ms", false)
	ops := make([]string, 0, len(times.by))
	for op := range times.by {
		ops = append(ops, op)
	}
	sort.Strings(ops)
	for _, op := range ops {
		r.add(op+" p50", percentile(times.by[op], 50), "ms", false)
		r.add(op+" p99", percentile(times.by[op], 99), "ms", false)
	}
	if len(times.all) == 0 {
		return fmt.Errorf("no IMAP command completed")
	}
	if o.cpuProfile == "" {
		return nil
	}
	if err := os.MkdirAll(o.cpuProfile, 0o755); err != nil {
		return err
	}
	for _, st := range steps {
		if err := profileStep(o, ss, st); err != nil {
			return fmt.Errorf("profile %s: %w", st.op, err)
		}
	}
	return nil
}

// profileStep runs st alone on every session while the server takes a CPU
// profile, and saves it as DIR/<step>.pprof.
func profileStep(o *options, ss []*staySession, st stayStep) error {
	secs := max(1, int(o.profileFor.Seconds()))
	wait := startProfile(o, secs)
	times := &opTimes{by: map[string][]time.Duration{}}
	runSteps(ss, []stayStep{st}, time.Duration(secs)*time.Second, o.rate, times)
	data, err := wait()
	if err != nil {
		return err
	}
	name := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' {
			return r
		}
		return '_'
	}, st.op)
	path := filepath.Join(o.cpuProfile, name+".pprof")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		return err
	}
	fmt.Printf("%s: %d commands, p50 %.3g ms; CPU profile %s (go tool pprof -top %s)\n",
		st.op, len(times.all), percentile(times.all, 50), path, path)
	return nil
}

// startProfile asks the server for a CPU profile of secs seconds; the
// function it returns waits for the profile's bytes.
func startProfile(o *options, secs int) func() ([]byte, error) {
	url := strings.TrimSuffix(o.pprofURL, "/") + fmt.Sprintf("/debug/pprof/profile?seconds=%d", secs)
	type result struct {
		data []byte
		err  error
	}
	got := make(chan result, 1)
	go func() {
		client := &http.Client{Timeout: time.Duration(secs+30) * time.Second}
		resp, err := client.Get(url)
		if err != nil {
			got <- result{err: err}
			return
		}
		defer resp.Body.Close()
		data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
		if err == nil && resp.StatusCode != http.StatusOK {
			err = fmt.Errorf("%s: %s", url, resp.Status)
		}
		got <- result{data, err}
	}()
	return func() ([]byte, error) {
		res := <-got
		return res.data, res.err
	}
}
