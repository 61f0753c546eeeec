package main

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
)

// smallSize is the size mix of the large mailbox: 2–6 KB text messages.
func smallSize(rng *rand.Rand) int { return 2<<10 + rng.IntN(4<<10) }

// scenarioLarge measures big@domain (filled beforehand with a large INBOX):
// SELECT, FETCH 1:* (FLAGS) and SEARCH TEXT, each the median of 3 (after
// one warm-up SELECT whose time is reported as "first SELECT"), then the
// delivery rate of o.n messages into it and into empty@domain (none with
// o.n = 0: the Dovecot with fts-xapian has no MTA in front of it).
func scenarioLarge(o *options, r *Result) error {
	ic, err := dialIMAP(o.imapAddrs[0])
	if err != nil {
		return err
	}
	defer ic.Close()
	if err := ic.login(user(o, "big"), o.pass); err != nil {
		return err
	}
	timeCmd := func(cmd string) (time.Duration, []string, error) {
		s := time.Now()
		lines, err := ic.cmd("%s", cmd)
		return time.Since(s), lines, err
	}
	first, lines, err := timeCmd("SELECT INBOX")
	if err != nil {
		return err
	}
	n := exists(lines)
	r.add("messages in mailbox", float64(n), "msgs", true)
	r.add("first SELECT", ms(first), "ms", false)
	var sel, fetch, search []time.Duration
	var hits int
	for i := 0; i < 3; i++ {
		d, _, err := timeCmd("SELECT INBOX")
		if err != nil {
			return err
		}
		sel = append(sel, d)
		d, lines, err = timeCmd("FETCH 1:* (FLAGS)")
		if err != nil {
			return err
		}
		if len(lines) < n {
			return fmt.Errorf("FETCH 1:* returned %d lines for %d messages", len(lines), n)
		}
		fetch = append(fetch, d)
		d, lines, err = timeCmd("SEARCH TEXT " + searchWord)
		if err != nil {
			return err
		}
		for _, l := range lines {
			if strings.HasPrefix(l, "* SEARCH") {
				hits = len(strings.Fields(l)) - 2
			}
		}
		search = append(search, d)
	}
	ic.cmd("LOGOUT")
	r.add("SELECT", percentile(sel, 50), "ms", false)
	r.add("FETCH 1:* (FLAGS)", percentile(fetch, 50), "ms", false)
	r.add("SEARCH TEXT", percentile(search, 50), "ms", false)
	r.add("SEARCH TEXT hits", float64(hits), "msgs", true)
	if hits == 0 {
		return fmt.Errorf("SEARCH TEXT %s found nothing", searchWord)
	}
	if o.n == 0 {
		return nil
	}
	big, err := ingest(o, "big", o.n, o.c, smallSize)
	if err != nil {
		return err
	}
	empty, err := ingest(o, "empty", o.n, o.c, smallSize)
	if err != nil {
		return err
	}
	r.Errors = big.errors + empty.errors
	r.add("delivery into large mailbox", big.visibleRate, "msg/s", true)
	r.add("delivery into empty mailbox", empty.visibleRate, "msg/s", true)
	r.add("large/empty delivery rate", big.visibleRate/empty.visibleRate, "ratio", true)
	return nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
