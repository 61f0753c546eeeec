package imapserver

import (
	"bufio"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mailroom/mailroom/auth"
)

// BenchmarkLoginStorm: 20 clients each connect, LOGIN and LOGOUT again
// and again (mail clients reconnecting), with and without the
// verified-credential cache; reports LOGIN p50/p99 (greeting read, from
// sending LOGIN to its tagged OK); warm-p99 leaves out each client's
// first login (with the cache, the first 20 all run argon2id at once).
// Run: go test -run '^$' -bench LoginStorm -benchtime 1x ./imapserver
func BenchmarkLoginStorm(b *testing.B) {
	for _, c := range []struct {
		name string
		ttl  time.Duration
	}{{"nocache", 0}, {"cache", auth.DefaultCacheTTL}} {
		b.Run(c.name, func(b *testing.B) {
			ts := startTestServer(b, func(cfg *Config) {
				cfg.Auth = cfg.Auth.WithCache(auth.CacheConfig{TTL: c.ttl})
			})
			const clients, rounds = 20, 10
			var mu sync.Mutex
			var lat, warm []time.Duration // warm: each client's logins after its first
			for b.Loop() {
				var wg sync.WaitGroup
				for range clients {
					wg.Go(func() {
						for i := range rounds {
							d, err := loginOnce(ts.addr)
							if err != nil {
								b.Error(err)
								return
							}
							mu.Lock()
							lat = append(lat, d)
							if i > 0 {
								warm = append(warm, d)
							}
							mu.Unlock()
						}
					})
				}
				wg.Wait()
			}
			if len(lat) == 0 || len(warm) == 0 {
				return
			}
			slices.Sort(lat)
			slices.Sort(warm)
			ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
			b.ReportMetric(ms(lat[len(lat)/2]), "p50-ms")
			b.ReportMetric(ms(lat[len(lat)*99/100]), "p99-ms")
			b.ReportMetric(ms(warm[len(warm)*99/100]), "warm-p99-ms")
		})
	}
}

// loginOnce connects, logs in (timed) and logs out.
func loginOnce(addr string) (time.Duration, error) {
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		return 0, err
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(time.Minute))
	br := bufio.NewReader(nc)
	if _, err := br.ReadString('\n'); err != nil {
		return 0, err
	}
	untilTagged := func(tag string) (string, error) {
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				return "", err
			}
			if strings.HasPrefix(line, tag+" ") {
				return line, nil
			}
		}
	}
	start := time.Now()
	fmt.Fprintf(nc, "a LOGIN %s %s\r\n", testUser, testPass)
	line, err := untilTagged("a")
	d := time.Since(start)
	if err != nil {
		return 0, err
	}
	if !strings.HasPrefix(line, "a OK") {
		return 0, fmt.Errorf("LOGIN: %q", line)
	}
	fmt.Fprintf(nc, "b LOGOUT\r\n")
	_, err = untilTagged("b")
	return d, err
}
