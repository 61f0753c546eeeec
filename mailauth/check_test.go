package mailauth

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"net"
	"strings"
	"testing"

	"github.com/emersion/go-msgauth/dkim"
)

// mapResolver answers TXT queries from a map; everything else is NXDOMAIN.
type mapResolver map[string][]string

func nx(name string) error { return &net.DNSError{Err: "no such host", Name: name, IsNotFound: true} }

func (r mapResolver) LookupTXT(_ context.Context, name string) ([]string, error) {
	if t, ok := r[strings.TrimSuffix(strings.ToLower(name), ".")]; ok {
		return t, nil
	}
	return nil, nx(name)
}
func (r mapResolver) LookupMX(_ context.Context, name string) ([]*net.MX, error) {
	return nil, nx(name)
}
func (r mapResolver) LookupIPAddr(_ context.Context, name string) ([]net.IPAddr, error) {
	return nil, nx(name)
}
func (r mapResolver) LookupAddr(_ context.Context, addr string) ([]string, error) {
	return nil, nx(addr)
}

var (
	goodIP = net.ParseIP("192.0.2.1")
	badIP  = net.ParseIP("198.51.100.7")
)

const plainMsg = "From: Sender <s@sender.test>\r\nTo: bob@example.org\r\nSubject: hi\r\nDate: Mon, 02 Jan 2006 15:04:05 +0000\r\nMessage-ID: <1@sender.test>\r\n\r\nHello.\r\n"

// signed returns plainMsg DKIM-signed for sender.test and the key record.
func signed(t *testing.T) ([]byte, string) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := dkim.Sign(&b, strings.NewReader(plainMsg), &dkim.SignOptions{Domain: "sender.test", Selector: "s1", Signer: priv,
		HeaderCanonicalization: dkim.CanonicalizationRelaxed, BodyCanonicalization: dkim.CanonicalizationRelaxed}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes(), "v=DKIM1; k=ed25519; p=" + base64.StdEncoding.EncodeToString(pub)
}

func TestChecks(t *testing.T) {
	sig, key := signed(t)
	tampered := bytes.Replace(sig, []byte("Hello."), []byte("Hullo."), 1)
	base := func() mapResolver {
		return mapResolver{"sender.test": {"v=spf1 ip4:192.0.2.1 -all"}, "s1._domainkey.sender.test": {key}}
	}
	reject := func() mapResolver { r := base(); r["_dmarc.sender.test"] = []string{"v=DMARC1; p=reject"}; return r }
	noSPF := func() mapResolver { r := reject(); delete(r, "sender.test"); return r }
	quarantine := func() mapResolver {
		r := base()
		r["_dmarc.sender.test"] = []string{"v=DMARC1; p=quarantine"}
		return r
	}
	tests := []struct {
		name       string
		res        mapResolver
		ip         net.IP
		raw        []byte
		quarantine bool
		want       []string
		action     Action
	}{
		{"spf pass, unsigned, no dmarc", base(), goodIP, []byte(plainMsg), false, []string{"spf=pass", "dkim=none", "dmarc=none"}, Accept},
		{"spf fail, no dmarc policy", base(), badIP, []byte(plainMsg), false, []string{"spf=fail", "dmarc=none"}, Accept},
		{"no spf record", mapResolver{}, goodIP, []byte(plainMsg), false, []string{"spf=none", "dkim=none", "dmarc=none"}, Accept},
		{"dkim pass aligns dmarc despite spf fail", reject(), badIP, sig, false, []string{"spf=fail", "dkim=pass", "header.d=sender.test", "dmarc=pass"}, Accept},
		{"spf pass aligns dmarc", reject(), goodIP, []byte(plainMsg), false, []string{"spf=pass", "dmarc=pass"}, Accept},
		{"tampered body fails dkim and dmarc reject", noSPF(), badIP, tampered, false, []string{"spf=none", "dkim=fail", "dmarc=fail"}, Reject},
		{"p=reject quarantined by config", reject(), badIP, []byte(plainMsg), true, []string{"dmarc=fail"}, Quarantine},
		{"p=quarantine", quarantine(), badIP, []byte(plainMsg), false, []string{"dmarc=fail"}, Quarantine},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := New(Config{Hostname: "mx.example.org", Resolver: tc.res, QuarantineRejects: tc.quarantine})
			v := c.Check(context.Background(), Input{IP: tc.ip, HELO: "mail.sender.test", MailFrom: "s@sender.test", Raw: tc.raw})
			if !strings.HasPrefix(v.Header, "Authentication-Results: mx.example.org;") || !strings.HasSuffix(v.Header, "\r\n") {
				t.Fatalf("header %q", v.Header)
			}
			for _, w := range tc.want {
				if !strings.Contains(v.Header, w) {
					t.Errorf("header lacks %q: %q", w, v.Header)
				}
			}
			if v.Action != tc.action {
				t.Errorf("action %d, want %d (%q)", v.Action, tc.action, v.Header)
			}
		})
	}
}

func TestStripForged(t *testing.T) {
	in := "Authentication-Results: MX.example.org; dkim=pass\r\n\theader.d=evil.test\r\n" +
		"Received: from x\r\n" +
		"Authentication-Results: (comment) mx.example.org.; spf=pass\r\n" +
		"authentication-results: other.test; spf=fail\r\n" +
		"Subject: hi\r\n\r\nAuthentication-Results: mx.example.org; body stays\r\n"
	want := "Received: from x\r\n" +
		"authentication-results: other.test; spf=fail\r\n" +
		"Subject: hi\r\n\r\nAuthentication-Results: mx.example.org; body stays\r\n"
	if got := string(StripForged([]byte(in), "mx.example.org")); got != want {
		t.Fatalf("got\n%q\nwant\n%q", got, want)
	}
	plain := []byte("Subject: x\r\n\r\nbody")
	if got := StripForged(plain, "mx.example.org"); !bytes.Equal(got, plain) {
		t.Fatalf("changed a clean message: %q", got)
	}
}

func FuzzStripForged(f *testing.F) {
	f.Add([]byte("Authentication-Results: mx.example.org; dkim=pass\r\n\tx=y\r\nSubject: s\r\n\r\nbody"))
	f.Add([]byte("Authentication-Results: (c (d)) mx.example.org\r\n"))
	f.Add([]byte("\r\n\r\n"))
	f.Add([]byte(" cont\r\nAuthentication-Results:mx.example.org;\r\n\r\n"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		out := StripForged(raw, "mx.example.org")
		if len(out) > len(raw) {
			t.Fatalf("output grew")
		}
		if again := StripForged(out, "mx.example.org"); !bytes.Equal(again, out) {
			t.Fatalf("not idempotent: %q -> %q -> %q", raw, out, again)
		}
		if i := bytes.Index(raw, []byte("\r\n\r\n")); i >= 0 && !bytes.HasSuffix(out, raw[i+2:]) {
			t.Fatalf("body changed")
		}
	})
}

func TestSkipLoopback(t *testing.T) {
	r := mapResolver{"_dmarc.sender.test": {"v=DMARC1; p=reject"}}
	c := New(Config{Hostname: "mx.example.org", Resolver: r, SkipLoopback: true})
	v := c.Check(context.Background(), Input{IP: net.ParseIP("127.0.0.1"), HELO: "x", MailFrom: "s@sender.test", Raw: []byte(plainMsg)})
	if v.Action != Accept || v.Header != "Authentication-Results: mx.example.org;\r\n\tnone\r\n" {
		t.Fatalf("loopback: %+v", v)
	}
	v = c.Check(context.Background(), Input{IP: badIP, HELO: "x", MailFrom: "s@sender.test", Raw: []byte(plainMsg)})
	if v.Action != Reject {
		t.Fatalf("non-loopback not checked: %+v", v)
	}
}
