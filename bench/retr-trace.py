#!/usr/bin/env python3
"""Where slow POP3 RETRs spend their time, from a server runtime trace.

    curl -o trace.out 'http://HTTP/debug/pprof/trace?seconds=8' &   # pprof = true
    mrbench run -scenario pop3 -passes 5 -retr-log retr.tsv ...
    go tool trace -d=parsed trace.out > parsed.txt
    bench/retr-trace.py parsed.txt retr.tsv [threshold_us, default 1000]

Each pass of mrbench is one POP3 session goroutine (the goroutines that
wait on the network, in the order they started). For every RETR the
client timed, the script adds up the state of that session's goroutine
over the RETR's interval (running, in a syscall, runnable waiting for a
P, waiting for the network = the client's turn, waiting on a select =
the read-ahead) and how much of it overlapped a GC mark phase, for the
RETRs at or over the threshold and for the others. Client and trace
clocks are aligned through the trace's wall-clock sync event.
"""
import bisect
import collections
import csv
import datetime
import re
import sys


def main():
    parsed, log = sys.argv[1], sys.argv[2]
    thresh = int(sys.argv[3]) if len(sys.argv) > 3 else 1000
    sync = None
    gc, open_gc = [], None
    tl = collections.defaultdict(list)  # goroutine -> [(time, state:reason)]
    born = {}
    for line in open(parsed):
        f = line.split()
        if len(f) < 5 or not f[0].startswith("M="):
            continue
        kind, t = f[3], int(f[4].split("=")[1])
        if kind == "Sync" and sync is None:
            m = re.search(r"Mono=(\d+) Wall=(\S+)", line)
            base, frac = m.group(2).rstrip("Z").split(".")
            wall = datetime.datetime.fromisoformat(base).replace(tzinfo=datetime.timezone.utc).timestamp() * 1e9
            sync = (int(m.group(1)), wall + int(frac.ljust(9, "0")[:9]))
        elif kind == "RangeBegin" and "GC concurrent mark phase" in line:
            open_gc = t
        elif kind == "RangeEnd" and "GC concurrent mark phase" in line and open_gc:
            gc.append((open_gc, t))
            open_gc = None
        elif kind == "StateTransition" and f[5].startswith("GoID="):
            g, tr = int(f[5][5:]), f[6]
            reason = re.search(r'Reason="([^"]*)"', line).group(1)
            if tr.startswith("NotExist"):
                born[g] = t
            tl[g].append((t, tr.split("->")[1] + ":" + reason))

    def wall(t):
        return sync[1] + (t - sync[0])

    # Started during the trace (the passes), waiting on the network at some point.
    sessions = sorted((g for g in tl if g in born and any(s == "Waiting:network" for _, s in tl[g])), key=born.get)
    marks = [(wall(a), wall(b)) for a, b in gc]
    times = {g: [wall(t) for t, _ in tl[g]] for g in sessions}
    print(f"GC mark phases {len(gc)}, {sum(b - a for a, b in gc) / 1e6:.1f} ms; session goroutines {sessions}")

    def states(g, s, e):
        out, ev, ts = collections.Counter(), tl[g], times[g]
        i = bisect.bisect_right(ts, s) - 1
        cur, t = (ev[i][1] if i >= 0 else "?"), s
        i += 1
        while i < len(ev) and ts[i] < e:
            out[cur] += ts[i] - t
            t, cur = ts[i], ev[i][1]
            i += 1
        out[cur] += e - t
        return out

    agg = {"slow": collections.Counter(), "other": collections.Counter()}
    n = collections.Counter()
    for r in csv.DictReader(open(log), delimiter="\t"):
        p = int(r["pass"]) - 1
        if p >= len(sessions):
            continue
        s, lat = int(r["start_unix_us"]) * 1000, int(r["latency_us"]) * 1000
        k = "slow" if lat >= thresh * 1000 else "other"
        n[k] += 1
        agg[k]["RETR time"] += lat
        agg[k]["(overlapping a GC mark phase)"] += sum(max(0, min(s + lat, b) - max(s, a)) for a, b in marks)
        agg[k].update(states(sessions[p], s, s + lat))
    for k, c in agg.items():
        tot = c["RETR time"]
        print(f"{k} RETRs ({'>=' if k == 'slow' else '<'} {thresh} us): {n[k]}")
        for a, v in sorted(c.items(), key=lambda x: -x[1]):
            print(f"   {a:32s} {v / 1e6:8.1f} ms {100 * v / tot if tot else 0:5.1f}%")


if __name__ == "__main__":
    main()
