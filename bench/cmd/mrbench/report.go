package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"
)

// reportScenarios are the report's sections, in order.
var reportScenarios = []struct{ name, title string }{
	{"smtp", "1. SMTP ingest until visible in the mailbox"},
	{"imap", "2. IMAP session mix"},
	{"imap-stay", "3. IMAP mix, logged in (per command)"},
	{"imap-rate", "3b. IMAP mix, logged in, at one fixed rate (per command)"},
	{"large", "4. Large mailbox"},
	{"pop3", "5. POP3 download of a maildrop"},
	{"idle", "6. Idle IMAP connections"},
}

// medians holds the median of every (scenario, metric, target) over the runs.
type medians map[[3]string]float64

func (m medians) get(scen, metric, target string) (float64, bool) {
	v, ok := m[[3]string{scen, metric, target}]
	return v, ok
}

// cmdReport turns the JSON lines of several runs into Markdown: the header
// file verbatim, then per scenario a table of medians for mailroom and the
// peer with the ratio mailroom/peer, plus a column for each of -others
// that ran the scenario, then the issue 15 targets with verdicts.
func cmdReport(args []string) error {
	fs := flag.NewFlagSet("report", flag.ExitOnError)
	in := fs.String("in", "results.jsonl", "JSON lines written by mrbench run -json")
	header := fs.String("header", "", "Markdown to put first")
	out := fs.String("out", "", "output file (default stdout)")
	ours := fs.String("ours", "mailroom", "our target name")
	peer := fs.String("peer", "postfix+dovecot", "peer target name")
	othersFlag := fs.String("others", "", "comma-separated further targets, each a column where it has figures (e.g. mailroom-pg-2nodes,dovecot-xapian)")
	pgName := fs.String("pg", "mailroom-pg-2nodes", "target name of the two-node PostgreSQL mailroom (targets table)")
	xapianName := fs.String("xapian", "dovecot-xapian", "target name of Dovecot with fts-xapian (targets table)")
	fs.Parse(args)
	others := splitList(*othersFlag)

	f, err := os.Open(*in)
	if err != nil {
		return err
	}
	defer f.Close()
	type key struct{ scen, metric string }
	vals := map[key]map[string][]float64{}
	meta := map[key]Metric{}
	var order []key
	runs := map[string]int{}
	errs := map[string]int{}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var r Result
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return err
		}
		runs[r.Scenario+"/"+r.Target]++
		errs[r.Scenario+"/"+r.Target] += r.Errors
		for _, m := range r.Metrics {
			k := key{r.Scenario, m.Name}
			if vals[k] == nil {
				vals[k] = map[string][]float64{}
				meta[k] = m
				order = append(order, k)
			}
			vals[k][r.Target] = append(vals[k][r.Target], m.Value)
		}
	}
	var b strings.Builder
	if *header != "" {
		h, err := os.ReadFile(*header)
		if err != nil {
			return err
		}
		b.Write(h)
	}
	med := medians{}
	for k, byTarget := range vals {
		for t, v := range byTarget {
			med[[3]string{k.scen, k.metric, t}], _ = median(v)
		}
	}
	for _, sc := range reportScenarios {
		s := sc.name
		var cols []string // others with figures here
		for _, t := range others {
			if runs[s+"/"+t] > 0 {
				cols = append(cols, t)
			}
		}
		fmt.Fprintf(&b, "\n### %s\n\n", sc.title)
		fmt.Fprintf(&b, "Runs: %s %d (errors %d), %s %d (errors %d)", *ours, runs[s+"/"+*ours], errs[s+"/"+*ours],
			*peer, runs[s+"/"+*peer], errs[s+"/"+*peer])
		for _, t := range cols {
			fmt.Fprintf(&b, ", %s %d (errors %d)", t, runs[s+"/"+t], errs[s+"/"+t])
		}
		fmt.Fprintf(&b, ".\n\n| metric | unit | %s | %s | ratio %s/%s | better |", *ours, *peer, *ours, *peer)
		for _, t := range cols {
			fmt.Fprintf(&b, " %s |", t)
		}
		fmt.Fprintf(&b, "\n|---|---|---:|---:|---:|---|%s\n", strings.Repeat("---:|", len(cols)))
		for _, k := range order {
			if k.scen != s {
				continue
			}
			m := meta[k]
			a, okA := med.get(s, k.metric, *ours)
			p, okP := med.get(s, k.metric, *peer)
			ratio, better := "–", "–"
			if okA && okP && p != 0 {
				ratio = fmt.Sprintf("%.2f", a/p)
				if m.Unit != "msgs" && m.Unit != "conns" {
					if (a > p) == m.Higher {
						better = *ours
					} else if a != p {
						better = *peer
					}
				}
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |", m.Name, m.Unit, cell(a, okA), cell(p, okP), ratio, better)
			for _, t := range cols {
				fmt.Fprintf(&b, " %s |", cell(med.get(s, k.metric, t)))
			}
			b.WriteString("\n")
		}
	}
	writeTargets(&b, med, *ours, *peer, *pgName, *xapianName)
	if *out == "" {
		fmt.Print(b.String())
		return nil
	}
	return os.WriteFile(*out, []byte(b.String()), 0o644)
}

func cell(v float64, ok bool) string {
	if !ok {
		return "n/a"
	}
	return fmtVal(v)
}

func median(v []float64) (float64, bool) {
	if len(v) == 0 {
		return 0, false
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2], true
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2, true
}
