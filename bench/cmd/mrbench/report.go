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

var scenarioTitles = map[string]string{
	"smtp":  "1. SMTP ingest until visible in the mailbox",
	"imap":  "2. IMAP session mix",
	"large": "3. Large mailbox",
	"pop3":  "4. POP3 download of a maildrop",
	"idle":  "5. Idle IMAP connections",
}

// cmdReport turns the JSON lines of several runs into Markdown: the header
// file verbatim, then per scenario a table of medians for mailroom and the
// peer with the ratio mailroom/peer.
func cmdReport(args []string) error {
	fs := flag.NewFlagSet("report", flag.ExitOnError)
	in := fs.String("in", "results.jsonl", "JSON lines written by mrbench run -json")
	header := fs.String("header", "", "Markdown to put first")
	out := fs.String("out", "", "output file (default stdout)")
	ours := fs.String("ours", "mailroom", "our target name")
	peer := fs.String("peer", "postfix+dovecot", "peer target name")
	fs.Parse(args)

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
	scens := []string{"smtp", "imap", "large", "pop3", "idle"}
	for _, s := range scens {
		fmt.Fprintf(&b, "\n### %s\n\n", scenarioTitles[s])
		fmt.Fprintf(&b, "Runs: %s %d (errors %d), %s %d (errors %d).\n\n", *ours, runs[s+"/"+*ours], errs[s+"/"+*ours],
			*peer, runs[s+"/"+*peer], errs[s+"/"+*peer])
		fmt.Fprintf(&b, "| metric | unit | %s | %s | ratio %s/%s | better |\n|---|---|---:|---:|---:|---|\n", *ours, *peer, *ours, *peer)
		for _, k := range order {
			if k.scen != s {
				continue
			}
			m := meta[k]
			a, okA := median(vals[k][*ours])
			p, okP := median(vals[k][*peer])
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
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n", m.Name, m.Unit, cell(a, okA), cell(p, okP), ratio, better)
		}
	}
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
