package queue

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"
)

// TestDNSResolverNamesConfiguredServer: with dns_server set, a failed
// lookup names the server that was asked. Before, the error named the
// system resolver of /etc/resolv.conf ("lookup x on 10.255.255.53:53"),
// though the query went to the configured server.
func TestDNSResolverNamesConfiguredServer(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	// Answer every query with SERVFAIL (RCODE 2).
	go func() {
		buf := make([]byte, 1500)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if n < 12 {
				continue
			}
			resp := append([]byte(nil), buf[:n]...)
			resp[2] |= 0x80            // QR: a response
			resp[3] = resp[3]&0xf0 | 2 // RCODE SERVFAIL
			pc.WriteTo(resp, from)
		}
	}()
	server := pc.LocalAddr().String()
	r := NewDNSResolver(server)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	lookups := map[string]func() error{
		"MX":  func() error { _, err := r.LookupMX(ctx, "example.test"); return err },
		"TXT": func() error { _, err := r.LookupTXT(ctx, "example.test"); return err },
		"IP":  func() error { _, err := r.LookupIPAddr(ctx, "example.test"); return err },
	}
	for name, lookup := range lookups {
		err := lookup()
		var de *net.DNSError
		if !errors.As(err, &de) {
			t.Fatalf("%s: %v, want a *net.DNSError", name, err)
		}
		if de.Server != server || !strings.Contains(err.Error(), "on "+server) {
			t.Errorf("%s: %q names server %q, want %s", name, err, de.Server, server)
		}
	}
}
