package main

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// scenarioIdle opens o.n connections as idle@domain, SELECTs INBOX and
// enters IDLE on each, sums the memory of the server processes, then
// delivers one message over SMTP and measures how long until every idler
// has seen its EXISTS.
func scenarioIdle(o *options, r *Result) error {
	procs := splitList(o.rssProcs)
	rss0, pss0 := serverMemory(procs)
	conns := make([]*imapConn, o.n)
	var errs atomic.Int64
	sem := make(chan struct{}, 50)
	var wg sync.WaitGroup
	t0 := time.Now()
	for i := range conns {
		wg.Add(1)
		sem <- struct{}{}
		go func(i int) {
			defer wg.Done()
			defer func() { <-sem }()
			ic, err := idleOne(o, nodeAddr(o.imapAddrs, i))
			if err != nil {
				if errs.Add(1) < 5 {
					fmt.Println("idle connect:", err)
				}
				return
			}
			conns[i] = ic
		}(i)
	}
	wg.Wait()
	setup := time.Since(t0)
	defer func() {
		for _, ic := range conns {
			if ic != nil {
				ic.Close()
			}
		}
	}()
	r.Errors = int(errs.Load())
	open := o.n - r.Errors
	time.Sleep(time.Second) // let the servers settle
	rss, pss := serverMemory(procs)
	r.add("idle connections", float64(open), "conns", true)
	r.add("setup (connect+LOGIN+SELECT+IDLE)", float64(open)/setup.Seconds(), "conns/s", true)
	r.add("server RSS before", rss0/1e6, "MB", false)
	r.add("server RSS with idlers", rss/1e6, "MB", false)
	r.add("server PSS with idlers", pss/1e6, "MB", false)
	r.add("server PSS per idler", (pss-pss0)/float64(max(open, 1))/1e3, "KB", false)

	// The readers start (and block in their reads) before the delivery,
	// so the time measured is the server's, not the client starting
	// 10,000 goroutines: each records when it saw the EXISTS.
	var seen []time.Time
	var mu sync.Mutex
	var started sync.WaitGroup
	for _, ic := range conns {
		if ic == nil {
			continue
		}
		wg.Add(1)
		started.Add(1)
		go func(ic *imapConn) {
			defer wg.Done()
			ic.c.SetDeadline(time.Now().Add(2 * time.Minute))
			started.Done()
			for {
				l, err := ic.readLine()
				if err != nil {
					errs.Add(1)
					return
				}
				if strings.HasSuffix(l, " EXISTS") {
					at := time.Now()
					mu.Lock()
					seen = append(seen, at)
					mu.Unlock()
					return
				}
			}
		}(ic)
	}
	started.Wait()
	time.Sleep(200 * time.Millisecond) // let the readers block
	var profile func() ([]byte, error)
	if o.cpuProfile != "" && o.pprofURL != "" {
		// The server's CPU profile covers the delivery and the fan-out.
		profile = startProfile(o, max(1, int(o.profileFor.Seconds())))
		time.Sleep(100 * time.Millisecond)
	}
	send := time.Now()
	cl, err := dialSMTP(o.smtpAddrs[0])
	if err != nil {
		return err
	}
	if err := sendOne(cl, "bench@example.net", user(o, "idle"), []byte("Subject: wake up\r\n\r\nidlers\r\n")); err != nil {
		return err
	}
	accepted := time.Since(send)
	cl.Quit()
	wg.Wait()
	r.Errors = int(errs.Load())
	lat := make([]time.Duration, len(seen))
	for i, at := range seen {
		lat[i] = at.Sub(send)
	}
	if profile != nil {
		data, err := profile()
		if err != nil {
			return err
		}
		path := filepath.Join(o.cpuProfile, "idle-fanout.pprof")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			return err
		}
		fmt.Printf("CPU profile of the delivery and fan-out: %s\n", path)
	}
	// An idler that has not seen the EXISTS when its 2-minute deadline
	// passes counts as an error; this row tells them from connect errors.
	r.add("idlers that saw the delivery", float64(len(lat)), "conns", true)
	r.add("delivery reached all idlers", percentile(lat, 100), "ms", false)
	r.add("delivery reached half", percentile(lat, 50), "ms", false)
	// The SMTP transaction's own share (the commit happens before its
	// reply), and when the first idler saw it: what is left is fan-out.
	r.add("SMTP delivery accepted", float64(accepted.Microseconds())/1000, "ms", false)
	r.add("delivery reached first", percentile(lat, 0), "ms", false)
	if len(lat) < open {
		return fmt.Errorf("only %d of %d idlers saw the delivery", len(lat), open)
	}
	return nil
}

func idleOne(o *options, addr string) (*imapConn, error) {
	ic, err := dialIMAP(addr)
	if err != nil {
		return nil, err
	}
	if err := ic.login(user(o, "idle"), o.pass); err != nil {
		ic.Close()
		return nil, err
	}
	if _, err := ic.cmd("SELECT INBOX"); err != nil {
		ic.Close()
		return nil, err
	}
	ic.c.SetDeadline(time.Now().Add(time.Minute))
	ic.w.WriteString("i IDLE\r\n")
	ic.w.Flush()
	l, err := ic.readLine()
	if err != nil || !strings.HasPrefix(l, "+") {
		ic.Close()
		return nil, fmt.Errorf("IDLE: %q %v", l, err)
	}
	return ic, nil
}

// serverMemory sums VmRSS and Pss (bytes) of the processes whose pids are
// listed in the files named by pidFiles, and of all their descendants.
func serverMemory(pidFiles []string) (rss, pss float64) {
	roots := map[int]bool{}
	for _, f := range pidFiles {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
			roots[pid] = true
		}
	}
	parent := map[int]int{}
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		pid, _ := strconv.Atoi(filepath.Base(d))
		b, err := os.ReadFile(filepath.Join(d, "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...; comm may contain spaces.
		s := string(b)
		if i := strings.LastIndexByte(s, ')'); i >= 0 {
			f := strings.Fields(s[i+1:])
			if len(f) > 1 {
				parent[pid], _ = strconv.Atoi(f[1])
			}
		}
	}
	in := func(pid int) bool {
		for depth := 0; pid > 1 && depth < 20; depth++ {
			if roots[pid] {
				return true
			}
			pid = parent[pid]
		}
		return false
	}
	for pid := range parent {
		if !in(pid) {
			continue
		}
		d := filepath.Join("/proc", strconv.Itoa(pid))
		rss += kbField(filepath.Join(d, "status"), "VmRSS:")
		pss += kbField(filepath.Join(d, "smaps_rollup"), "Pss:")
	}
	return rss, pss
}

func kbField(path, key string) float64 {
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if l := sc.Text(); strings.HasPrefix(l, key) {
			f := strings.Fields(l[len(key):])
			if len(f) > 0 {
				v, _ := strconv.ParseFloat(f[0], 64)
				return v * 1024
			}
		}
	}
	return 0
}
