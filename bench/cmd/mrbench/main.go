// Command mrbench is mailroom's load generator. It drives a mail server
// (mailroom, or Postfix + Dovecot) over real TCP on loopback with bounded
// concurrent clients and prints throughput and latency percentiles as a
// table and as JSON lines. bench/run starts the servers and calls it; see
// docs/benchmarks.md.
//
//	mrbench run  -target NAME -scenario smtp|imap|imap-stay|imap-rate|large|pop3|idle [flags]
//	mrbench fill-imap  -imap ADDR -user U -pass P -n N      (APPEND N messages)
//	mrbench fill-store -db FILE -email U -n N               (mailroom store, server stopped)
//	mrbench fill-maildir -dir DIR -n N                      (Dovecot Maildir files)
//	mrbench hash [-cheap] PASSWORD                         (argon2id PHC line for Dovecot)
//	mrbench set-hash -db FILE -email U -hash H              (mailroom store, server stopped)
//	mrbench report -in results.jsonl -header FILE -out docs/benchmarks.md
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
	"time"
)

// Metric is one measured figure.
type Metric struct {
	Name   string  `json:"name"`
	Value  float64 `json:"value"`
	Unit   string  `json:"unit"`
	Higher bool    `json:"higher_is_better"`
}

// Result is what one scenario run against one target produced.
type Result struct {
	Target   string    `json:"target"`
	Scenario string    `json:"scenario"`
	Run      int       `json:"run"`
	Errors   int       `json:"errors"`
	Metrics  []Metric  `json:"metrics"`
	When     time.Time `json:"when"`
}

func (r *Result) add(name string, v float64, unit string, higher bool) {
	r.Metrics = append(r.Metrics, Metric{name, v, unit, higher})
}

type options struct {
	target, scenario            string
	smtpAddr, imapAddr, popAddr string   // flags: comma-separated lists
	smtpAddrs, imapAddrs        []string // round-robin over nodes (nodeAddr)
	domain, pass                string
	n, c, run                   int
	duration                    time.Duration
	jsonOut                     string
	rssProcs                    string
	only                        string        // imap-stay: steps to run (stay.go)
	cpuProfile, pprofURL        string        // imap-stay: per-step server CPU profiles
	profileFor                  time.Duration // imap-stay: length of each profile
	rate                        float64       // imap-rate: commands per second, all sessions together
	passes                      int           // pop3: downloads of the maildrop, one session each
	retrLog                     string        // pop3: file for every RETR's latency
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: mrbench run|fill-imap|fill-store|fill-maildir|report|hash|set-hash|wait-indexed [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "run":
		err = cmdRun(os.Args[2:])
	case "fill-imap":
		err = cmdFillIMAP(os.Args[2:])
	case "fill-store":
		err = cmdFillStore(os.Args[2:])
	case "fill-maildir":
		err = cmdFillMaildir(os.Args[2:])
	case "report":
		err = cmdReport(os.Args[2:])
	case "hash":
		err = cmdHash(os.Args[2:])
	case "set-hash":
		err = cmdSetHash(os.Args[2:])
	case "wait-indexed":
		err = cmdWaitIndexed(os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "mrbench:", err)
		os.Exit(1)
	}
}

func cmdRun(args []string) error {
	var o options
	fs := flag.NewFlagSet("run", flag.ExitOnError)
	fs.StringVar(&o.target, "target", "mailroom", "name of the server under test (for the report)")
	fs.StringVar(&o.scenario, "scenario", "smtp", "smtp, imap, imap-stay, imap-rate, large, pop3 or idle")
	fs.StringVar(&o.smtpAddr, "smtp", "127.0.0.1:2525", "SMTP address (no AUTH); several, comma-separated: sessions round-robin over them")
	fs.StringVar(&o.imapAddr, "imap", "127.0.0.1:2143", "IMAP address; several, comma-separated: clients round-robin over them")
	fs.StringVar(&o.popAddr, "pop3", "127.0.0.1:2110", "POP3 address")
	fs.StringVar(&o.domain, "domain", "bench.test", "domain of the bench users")
	fs.StringVar(&o.pass, "pass", "benchpass", "password of every bench user")
	fs.IntVar(&o.n, "n", 200, "messages (smtp, large delivery; 0: large measures the mailbox only), connections (idle)")
	fs.IntVar(&o.c, "c", 10, "concurrent clients")
	fs.IntVar(&o.run, "run", 1, "run number (for the report)")
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "duration of the imap mix")
	fs.StringVar(&o.jsonOut, "json", "", "append the result as a JSON line to this file")
	fs.StringVar(&o.rssProcs, "pidfiles", "", "comma-separated pid files of the server processes whose memory (with their children) the idle scenario sums")
	fs.StringVar(&o.only, "only", "", "imap-stay: comma-separated steps of the mix to run (e.g. \"SEARCH UNSEEN,NOOP\"); empty: all")
	fs.StringVar(&o.cpuProfile, "cpuprofile", "", "imap-stay: after the measured run, run each step alone and save the server's CPU profile in this directory; idle: profile the delivery and fan-out into DIR/idle-fanout.pprof (needs -pprof)")
	fs.StringVar(&o.pprofURL, "pprof", "", "imap-stay, idle: base URL of the server's Go /debug/pprof/ (mailroom: pprof = true, e.g. http://127.0.0.1:2080)")
	fs.DurationVar(&o.profileFor, "profile-seconds", 5*time.Second, "imap-stay: length of each step's CPU profile; idle: of the fan-out's")
	fs.Float64Var(&o.rate, "rate", 0, "imap-rate: commands per second sent by the -c clients together, open loop (latency counted from when each command was due)")
	fs.IntVar(&o.passes, "passes", 1, "pop3: download the maildrop this many times, one session after the other; figures of the median pass, RETR percentiles over all")
	fs.StringVar(&o.retrLog, "retr-log", "", "pop3: write every RETR (pass, message, bytes, start in Unix µs, latency in µs) to this file")
	fs.Parse(args)
	o.smtpAddrs, o.imapAddrs = splitList(o.smtpAddr), splitList(o.imapAddr)
	if len(o.smtpAddrs) == 0 || len(o.imapAddrs) == 0 {
		return fmt.Errorf("-smtp and -imap need at least one address")
	}
	res := Result{Target: o.target, Scenario: o.scenario, Run: o.run, When: time.Now().UTC()}
	var err error
	switch o.scenario {
	case "smtp":
		err = scenarioSMTP(&o, &res)
	case "imap":
		err = scenarioIMAP(&o, &res)
	case "imap-stay", "imap-rate":
		err = scenarioIMAPStay(&o, &res)
	case "large":
		err = scenarioLarge(&o, &res)
	case "pop3":
		err = scenarioPOP3(&o, &res)
	case "idle":
		err = scenarioIdle(&o, &res)
	default:
		return fmt.Errorf("unknown scenario %q", o.scenario)
	}
	printTable(&res)
	if o.jsonOut != "" {
		f, ferr := os.OpenFile(o.jsonOut, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if ferr != nil {
			return ferr
		}
		json.NewEncoder(f).Encode(res)
		f.Close()
	}
	if err != nil {
		return fmt.Errorf("%s/%s: %w", o.target, o.scenario, err)
	}
	if res.Errors > 0 {
		return fmt.Errorf("%s/%s: %d errors", o.target, o.scenario, res.Errors)
	}
	return nil
}

func printTable(r *Result) {
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "# %s / %s (run %d, errors %d)\n", r.Target, r.Scenario, r.Run, r.Errors)
	for _, m := range r.Metrics {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", m.Name, fmtVal(m.Value), m.Unit)
	}
	tw.Flush()
	b, _ := json.Marshal(r)
	fmt.Println(string(b))
}

func fmtVal(v float64) string {
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.3g", v)
	}
}

// percentile returns the p-th percentile (0..100) of d in milliseconds.
func percentile(d []time.Duration, p float64) float64 {
	if len(d) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := int(float64(len(s)-1) * p / 100)
	return float64(s[i].Microseconds()) / 1000
}

func user(o *options, local string) string { return local + "@" + o.domain }

// nodeAddr is the address client i uses: clients are spread round-robin
// over the nodes, so with two nodes on one PostgreSQL database half the
// sessions land on each.
func nodeAddr(addrs []string, i int) string { return addrs[i%len(addrs)] }

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
