package main

import (
	"fmt"
	"strings"
)

// writeTargets appends the issue 15 targets table: each target with the
// medians it is read from and a verdict ("met", "not met", or "n/a" when a
// figure is missing, e.g. a scenario that did not run).
func writeTargets(b *strings.Builder, med medians, ours, peer, pg, xapian string) {
	b.WriteString("\n## Targets (issue 15)\n\nComputed by `mrbench report` from the medians above.\n\n| target | result | verdict |\n|---|---|---|\n")
	row := func(target, result string, ok, met bool) {
		v := "n/a"
		if ok {
			v = "not met"
			if met {
				v = "met"
			}
		}
		fmt.Fprintf(b, "| %s | %s | %s |\n", target, result, v)
	}
	missing := "figures missing"

	n, okN := med.get("large", "messages in mailbox", ours)
	st, okS := med.get("large", "SEARCH TEXT", ours)
	if okN && okS {
		row("SEARCH TEXT on 100,000 messages < 100 ms", fmt.Sprintf("%s ms on %s messages", fmtVal(st), fmtVal(n)), true, st < 100 && n >= 100000)
	} else {
		row("SEARCH TEXT on 100,000 messages < 100 ms", missing, false, false)
	}
	if x, ok := med.get("large", "SEARCH TEXT", xapian); ok && okS && st > 0 {
		row("SEARCH TEXT ≥ 10× Dovecot with fts-xapian", fmt.Sprintf("%s vs %s ms: %.1f×", fmtVal(st), fmtVal(x), x/st), true, x/st >= 10)
	} else {
		row("SEARCH TEXT ≥ 10× Dovecot with fts-xapian", missing, false, false)
	}
	ratioRow := func(target, scen, metric, a, p string, want float64) {
		va, okA := med.get(scen, metric, a)
		vp, okP := med.get(scen, metric, p)
		if !okA || !okP || vp == 0 {
			row(target, missing, false, false)
			return
		}
		row(target, fmt.Sprintf("%s vs %s %s: %.2f×", fmtVal(va), fmtVal(vp), metaUnits[metric], va/vp), true, va/vp >= want)
	}
	ratioRow("POP3 RETR ≥ 1× Dovecot", "pop3", "RETR throughput", ours, peer, 1)
	if all, ok := med.get("idle", "delivery reached all idlers", ours); ok {
		conns, _ := med.get("idle", "idle connections", ours)
		saw, okSaw := med.get("idle", "idlers that saw the delivery", ours)
		res := fmt.Sprintf("%s ms for %s idlers", fmtVal(all), fmtVal(conns))
		if okSaw && saw < conns {
			res += fmt.Sprintf(" (only %s saw it)", fmtVal(saw))
		}
		row("IDLE: delivery reaches all idlers < 500 ms", res, true, all < 500 && (!okSaw || saw >= conns))
	} else {
		row("IDLE: delivery reaches all idlers < 500 ms", missing, false, false)
	}
	ratioRow("PostgreSQL (two nodes) ingest ≥ 0.8× SQLite", "smtp", "delivered (visible in mailbox)", pg, ours, 0.8)
	for _, scen := range []struct{ name, label string }{
		{"imap-stay", "IMAP mix logged in"},
		{"imap-rate", "IMAP mix logged in, fixed rate"},
	} {
		for _, q := range []string{"p50", "p99"} {
			commandsRow(row, med, scen.name, scen.label+": every command's "+q+" ≤ Dovecot's", q, ours, peer)
		}
	}
}

// commandsRow writes the target that every command of the logged-in mix
// in scenario scen has its quantile q at or below the peer's.
func commandsRow(row func(target, result string, ok, met bool), med medians, scen, target, q, ours, peer string) {
	var worse []string
	checked := 0
	for _, st := range staySteps {
		a, okA := med.get(scen, st.op+" "+q, ours)
		p, okP := med.get(scen, st.op+" "+q, peer)
		if !okA || !okP {
			continue
		}
		checked++
		if a > p {
			worse = append(worse, fmt.Sprintf("%s %s vs %s ms", st.op, fmtVal(a), fmtVal(p)))
		}
	}
	switch {
	case checked == 0:
		row(target, "figures missing", false, false)
	case len(worse) == 0:
		row(target, fmt.Sprintf("all %d commands", checked), true, true)
	default:
		row(target, fmt.Sprintf("%d of %d commands slower: %s", len(worse), checked, strings.Join(worse, "; ")), true, false)
	}
}

// metaUnits are the units of the metrics ratioRow compares.
var metaUnits = map[string]string{"RETR throughput": "MB/s", "delivered (visible in mailbox)": "msg/s"}
