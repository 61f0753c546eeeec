package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The report has a column per extra target where it ran (the two-node
// PostgreSQL mailroom, Dovecot with fts-xapian), the per-command table of
// the logged-in mix, and the issue 15 targets with computed verdicts.
func TestReportColumnsAndTargets(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	in := filepath.Join(dir, "results.jsonl")
	f, err := os.Create(in)
	if err != nil {
		t.Fatal(err)
	}
	enc := json.NewEncoder(f)
	add := func(target, scen string, run int, kv ...any) {
		r := Result{Target: target, Scenario: scen, Run: run}
		for i := 0; i < len(kv); i += 2 {
			name := kv[i].(string)
			unit, higher := "ms", false
			if u, ok := metaUnits[name]; ok {
				unit, higher = u, true
			}
			r.add(name, kv[i+1].(float64), unit, higher)
		}
		enc.Encode(r)
	}
	for run, v := range []float64{900, 1000, 1100} {
		add("mailroom", "smtp", run+1, "delivered (visible in mailbox)", v)
	}
	add("postfix+dovecot", "smtp", 1, "delivered (visible in mailbox)", 300.0)
	add("mailroom-pg-2nodes", "smtp", 1, "delivered (visible in mailbox)", 700.0) // 0.7×: not met
	add("mailroom", "large", 1, "messages in mailbox", 100300.0, "SEARCH TEXT", 40.0)
	add("postfix+dovecot", "large", 1, "messages in mailbox", 100300.0, "SEARCH TEXT", 5000.0)
	add("dovecot-xapian", "large", 1, "messages in mailbox", 100300.0, "SEARCH TEXT", 500.0) // 12.5×: met
	add("mailroom", "imap-stay", 1, "NOOP p50", 0.1, "NOOP p99", 2.0, "SEARCH UNSEEN p50", 0.3, "SEARCH UNSEEN p99", 1.0)
	add("postfix+dovecot", "imap-stay", 1, "NOOP p50", 0.2, "NOOP p99", 1.0, "SEARCH UNSEEN p50", 0.4, "SEARCH UNSEEN p99", 3.0)
	add("mailroom", "imap-rate", 1, "NOOP p50", 0.3, "NOOP p99", 0.5)
	add("postfix+dovecot", "imap-rate", 1, "NOOP p50", 0.2, "NOOP p99", 0.9)
	add("mailroom", "idle", 1, "idle connections", 100.0, "idlers that saw the delivery", 90.0, "delivery reached all idlers", 300.0)
	add("mailroom", "pop3", 1, "RETR throughput", 120.0)
	add("postfix+dovecot", "pop3", 1, "RETR throughput", 100.0)
	f.Close()

	out := filepath.Join(dir, "report.md")
	if err := cmdReport([]string{"-in", in, "-out", out, "-others", "mailroom-pg-2nodes,dovecot-xapian"}); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(out)
	rep := string(b)
	for _, want := range []string{
		"| metric | unit | mailroom | postfix+dovecot | ratio mailroom/postfix+dovecot | better | mailroom-pg-2nodes |\n",
		"| delivered (visible in mailbox) | msg/s | 1000 | 300 | 3.33 | mailroom | 700 |\n",
		"| SEARCH TEXT | ms | 40.0 | 5000 | 0.01 | mailroom | 500 |\n",
		"### 3. IMAP mix, logged in (per command)",
		"| NOOP p99 | ms | 2 | 1 | 2.00 | postfix+dovecot |\n",
		"## Targets (issue 15)",
		"| SEARCH TEXT on 100,000 messages < 100 ms | 40.0 ms on 100300 messages | met |",
		"| SEARCH TEXT ≥ 10× Dovecot with fts-xapian | 40.0 vs 500 ms: 12.5× | met |",
		"| POP3 RETR ≥ 1× Dovecot | 120 vs 100 MB/s: 1.20× | met |",
		"| IDLE: delivery reaches all idlers < 500 ms | 300 ms for 100 idlers (only 90.0 saw it) | not met |",
		"| PostgreSQL (two nodes) ingest ≥ 0.8× SQLite | 700 vs 1000 msg/s: 0.70× | not met |",
		"| IMAP mix logged in: every command's p50 ≤ Dovecot's | all 2 commands | met |",
		"| IMAP mix logged in: every command's p99 ≤ Dovecot's | 1 of 2 commands slower: NOOP 2 vs 1 ms | not met |",
		"### 3b. IMAP mix, logged in, at one fixed rate (per command)",
		"| IMAP mix logged in, fixed rate: every command's p50 ≤ Dovecot's | 1 of 1 commands slower: NOOP 0.3 vs 0.2 ms | not met |",
		"| IMAP mix logged in, fixed rate: every command's p99 ≤ Dovecot's | all 1 commands | met |",
	} {
		if !strings.Contains(rep, want) {
			t.Errorf("report lacks %q:\n%s", want, rep)
		}
	}
	// The xapian column appears only where Dovecot with fts-xapian ran.
	if strings.Contains(rep[:strings.Index(rep, "### 4.")], "dovecot-xapian |") {
		t.Errorf("dovecot-xapian column outside the large mailbox table:\n%s", rep)
	}
}
