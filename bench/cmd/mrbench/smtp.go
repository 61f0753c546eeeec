package main

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/smtp"
	"sync"
	"sync/atomic"
	"time"
)

// ingestStats is the outcome of sending n messages and waiting until the
// recipient's INBOX shows all of them.
type ingestStats struct {
	n           int
	bytes       int64
	accept      []time.Duration // SMTP MAIL..final 250
	endToEnd    []time.Duration // MAIL start .. visible over IMAP STATUS
	acceptRate  float64         // msgs/s until the last 250
	visibleRate float64         // msgs/s until the last message is visible
	errors      int
}

// ingest sends n messages from the size mix to local@domain over c SMTP
// connections and polls IMAP STATUS INBOX (MESSAGES) every 5 ms until all
// are visible. SMTP session w uses nodeAddr(o.smtpAddrs, w); the poller
// the first IMAP address, so with several nodes it also sees the mail the
// other nodes accepted. The k-th message to become visible is matched with the k-th
// message accepted, so end-to-end latency is exact for in-order delivery.
func ingest(o *options, local string, n, c int, sizeOf func(*rand.Rand) int) (*ingestStats, error) {
	rcpt := user(o, local)
	rng := rand.New(rand.NewPCG(uint64(n), 7))
	msgs := make([][]byte, n)
	st := &ingestStats{n: n}
	for i := range msgs {
		msgs[i] = makeMessage(rng, i, sizeOf(rng), rcpt)
		st.bytes += int64(len(msgs[i]))
	}
	poll, err := dialIMAP(o.imapAddrs[0])
	if err != nil {
		return nil, err
	}
	defer poll.Close()
	if err := poll.login(rcpt, o.pass); err != nil {
		return nil, err
	}
	base, err := poll.statusMessages("INBOX")
	if err != nil {
		return nil, err
	}

	var (
		mu       sync.Mutex
		starts   []time.Time // in acceptance order
		next     atomic.Int64
		errCount atomic.Int64
		wg       sync.WaitGroup
	)
	t0 := time.Now()
	for w := 0; w < c; w++ {
		wg.Add(1)
		go func(addr string) {
			defer wg.Done()
			// Every session opens, even if the others take all the
			// messages; a failed dial is retried (and counted) below.
			cl, err := dialSMTP(addr)
			if err != nil {
				cl = nil
			}
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					break
				}
				if cl == nil {
					var err error
					if cl, err = dialSMTP(addr); err != nil {
						errCount.Add(1)
						fmt.Println("smtp dial:", err)
						continue
					}
				}
				s := time.Now()
				if err := sendOne(cl, "bench@example.net", rcpt, msgs[i]); err != nil {
					errCount.Add(1)
					fmt.Println("smtp send:", err)
					cl.Close()
					cl = nil
					continue
				}
				d := time.Since(s)
				mu.Lock()
				starts = append(starts, s)
				st.accept = append(st.accept, d)
				mu.Unlock()
			}
			if cl != nil {
				cl.Quit()
			}
		}(nodeAddr(o.smtpAddrs, w))
	}
	acceptDone := make(chan time.Time, 1)
	go func() { wg.Wait(); acceptDone <- time.Now() }()

	want := n - int(errCount.Load())
	seen := 0
	var lastAccept time.Time
	deadline := time.Now().Add(time.Duration(n)*time.Second + 60*time.Second)
	for {
		select {
		case t := <-acceptDone:
			lastAccept = t
			want = n - int(errCount.Load())
		default:
		}
		cnt, err := poll.statusMessages("INBOX")
		if err != nil {
			return nil, err
		}
		now := time.Now()
		mu.Lock()
		for seen < cnt-base && seen < len(starts) {
			st.endToEnd = append(st.endToEnd, now.Sub(starts[seen]))
			seen++
		}
		mu.Unlock()
		if !lastAccept.IsZero() && cnt-base >= want {
			st.visibleRate = float64(want) / now.Sub(t0).Seconds()
			break
		}
		if now.After(deadline) {
			return nil, fmt.Errorf("only %d of %d messages visible after %v", cnt-base, want, now.Sub(t0))
		}
		time.Sleep(5 * time.Millisecond)
	}
	st.acceptRate = float64(want) / lastAccept.Sub(t0).Seconds()
	st.errors = int(errCount.Load())
	return st, nil
}

func dialSMTP(addr string) (*smtp.Client, error) {
	conn, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return nil, err
	}
	cl, err := smtp.NewClient(conn, "127.0.0.1")
	if err != nil {
		conn.Close()
		return nil, err
	}
	if err := cl.Hello("bench.example.net"); err != nil {
		cl.Close()
		return nil, err
	}
	return cl, nil
}

func sendOne(cl *smtp.Client, from, to string, msg []byte) error {
	if err := cl.Mail(from); err != nil {
		return err
	}
	if err := cl.Rcpt(to); err != nil {
		return err
	}
	w, err := cl.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write(msg); err != nil {
		return err
	}
	return w.Close()
}

func scenarioSMTP(o *options, r *Result) error {
	st, err := ingest(o, "ingest", o.n, o.c, mixSize)
	if err != nil {
		return err
	}
	r.Errors = st.errors
	r.add("delivered (visible in mailbox)", st.visibleRate, "msg/s", true)
	r.add("delivered MB/s", st.visibleRate*float64(st.bytes)/float64(st.n)/1e6, "MB/s", true)
	r.add("accepted (SMTP 250)", st.acceptRate, "msg/s", true)
	r.add("end-to-end p50", percentile(st.endToEnd, 50), "ms", false)
	r.add("end-to-end p99", percentile(st.endToEnd, 99), "ms", false)
	r.add("SMTP transaction p50", percentile(st.accept, 50), "ms", false)
	r.add("SMTP transaction p99", percentile(st.accept, 99), "ms", false)
	if len(st.endToEnd) == 0 {
		return errors.New("no message delivered")
	}
	return nil
}
