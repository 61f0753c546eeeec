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

	"github.com/emersion/go-msgauth/authres"
	"github.com/emersion/go-msgauth/dkim"
	"github.com/emersion/go-msgauth/dmarc"
)

// failResolver is a mapResolver whose TXT lookups of the names in fail
// end in a temporary DNS error (SERVFAIL).
type failResolver struct {
	mapResolver
	fail map[string]bool
}

func (r failResolver) LookupTXT(ctx context.Context, name string) ([]string, error) {
	if r.fail[name] {
		return nil, &net.DNSError{Err: "server misbehaving", Name: name, IsTemporary: true}
	}
	return r.mapResolver.LookupTXT(ctx, name)
}

// authorMsg is a message whose From: is s@fromDomain, DKIM-signed for
// dkimDomain unless that is ""; the key record goes into res.
func authorMsg(t *testing.T, res mapResolver, fromDomain, dkimDomain string) []byte {
	t.Helper()
	msg := "From: <s@" + fromDomain + ">\r\nTo: bob@example.org\r\nSubject: hi\r\n" +
		"Date: Mon, 02 Jan 2006 15:04:05 +0000\r\nMessage-ID: <1@x>\r\n\r\nHello.\r\n"
	if dkimDomain == "" {
		return []byte(msg)
	}
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := dkim.Sign(&b, strings.NewReader(msg), &dkim.SignOptions{Domain: dkimDomain, Selector: "s1", Signer: priv}); err != nil {
		t.Fatal(err)
	}
	res["s1._domainkey."+dkimDomain] = []string{"v=DKIM1; k=ed25519; p=" + base64.StdEncoding.EncodeToString(pub)}
	return b.Bytes()
}

func TestDMARC(t *testing.T) {
	const spfOK = "v=spf1 ip4:192.0.2.1 -all"
	tests := []struct {
		name     string
		dns      map[string]string // name -> one TXT record
		fail     string            // TXT name answering SERVFAIL
		mailFrom string            // MAIL FROM domain; SPF passes from goodIP when it has spfOK
		from     string            // From: domain
		dkim     string            // DKIM signing domain, "" for unsigned
		sample   int               // what Config.Sample returns
		rejectsQ bool              // QuarantineRejects

		dmarc   authres.ResultValue
		policy  dmarc.Policy
		applied dmarc.Policy
		action  Action
		reason  string // in the header, when not ""
	}{
		// Organizational domains from the Public Suffix List (§3.2).
		{name: "co.uk: subdomain of the author's org domain aligns (relaxed)",
			dns:      map[string]string{"mail.example.co.uk": spfOK, "_dmarc.example.co.uk": "v=DMARC1; p=reject"},
			mailFrom: "mail.example.co.uk", from: "example.co.uk", dmarc: authres.ResultPass},
		{name: "co.uk: sibling registration does not align",
			dns:      map[string]string{"other.co.uk": spfOK, "_dmarc.example.co.uk": "v=DMARC1; p=reject"},
			mailFrom: "other.co.uk", from: "example.co.uk",
			dmarc: authres.ResultFail, policy: dmarc.PolicyReject, applied: dmarc.PolicyReject, action: Reject, reason: `reason="p=reject"`},
		{name: "co.uk: subdomain author finds the org record, not _dmarc.co.uk",
			dns:      map[string]string{"other.co.uk": spfOK, "_dmarc.example.co.uk": "v=DMARC1; p=quarantine", "_dmarc.co.uk": "v=DMARC1; p=none"},
			mailFrom: "other.co.uk", from: "mail.example.co.uk",
			dmarc: authres.ResultFail, policy: dmarc.PolicyQuarantine, applied: dmarc.PolicyQuarantine, action: Quarantine},
		{name: "private suffix: github.io siblings do not align",
			dns:      map[string]string{"bob.github.io": spfOK, "_dmarc.alice.github.io": "v=DMARC1; p=reject"},
			mailFrom: "bob.github.io", from: "alice.github.io",
			dmarc: authres.ResultFail, policy: dmarc.PolicyReject, applied: dmarc.PolicyReject, action: Reject},

		// Relaxed vs strict alignment (§3.1).
		{name: "relaxed spf: a.example.com vs b.example.com",
			dns:      map[string]string{"b.example.com": spfOK, "_dmarc.example.com": "v=DMARC1; p=reject"},
			mailFrom: "b.example.com", from: "a.example.com", dmarc: authres.ResultPass},
		{name: "strict spf: a.example.com vs b.example.com fails",
			dns:      map[string]string{"b.example.com": spfOK, "_dmarc.example.com": "v=DMARC1; p=reject; aspf=s"},
			mailFrom: "b.example.com", from: "a.example.com",
			dmarc: authres.ResultFail, policy: dmarc.PolicyReject, applied: dmarc.PolicyReject, action: Reject},
		{name: "strict spf: org domain vs its subdomain fails",
			dns:      map[string]string{"mail.example.com": spfOK, "_dmarc.example.com": "v=DMARC1; p=reject; aspf=s"},
			mailFrom: "mail.example.com", from: "example.com",
			dmarc: authres.ResultFail, policy: dmarc.PolicyReject, applied: dmarc.PolicyReject, action: Reject},
		{name: "strict spf: same name passes, case-insensitively",
			dns:      map[string]string{"example.com": spfOK, "_dmarc.example.com": "v=DMARC1; p=reject; aspf=s"},
			mailFrom: "Example.COM", from: "example.com", dmarc: authres.ResultPass},
		{name: "relaxed dkim: d=example.com for a.example.com",
			dns:  map[string]string{"_dmarc.example.com": "v=DMARC1; p=reject"},
			from: "a.example.com", dkim: "example.com", dmarc: authres.ResultPass},
		{name: "strict dkim: d=example.com for a.example.com fails",
			dns:  map[string]string{"_dmarc.example.com": "v=DMARC1; p=reject; adkim=s"},
			from: "a.example.com", dkim: "example.com",
			dmarc: authres.ResultFail, policy: dmarc.PolicyReject, applied: dmarc.PolicyReject, action: Reject},
		{name: "strict dkim, relaxed spf: spf still aligns",
			dns:      map[string]string{"b.example.com": spfOK, "_dmarc.example.com": "v=DMARC1; p=reject; adkim=s"},
			mailFrom: "b.example.com", from: "a.example.com", dkim: "example.com", dmarc: authres.ResultPass},
		{name: "idn author domain aligns with its A-label",
			dns:  map[string]string{"_dmarc.xn--bcher-kva.example": "v=DMARC1; p=reject; adkim=s"},
			from: "BÜCHER.example", dkim: "xn--bcher-kva.example", dmarc: authres.ResultPass},

		// Policy discovery (§6.6.3) and sp=.
		{name: "subdomain, org record without sp: p applies",
			dns:      map[string]string{"_dmarc.example.com": "v=DMARC1; p=reject"},
			mailFrom: "evil.test", from: "news.example.com",
			dmarc: authres.ResultFail, policy: dmarc.PolicyReject, applied: dmarc.PolicyReject, action: Reject},
		{name: "subdomain, org record sp=none: sp applies",
			dns:      map[string]string{"_dmarc.example.com": "v=DMARC1; p=reject; sp=none"},
			mailFrom: "evil.test", from: "news.example.com",
			dmarc: authres.ResultFail, policy: dmarc.PolicyNone, applied: dmarc.PolicyNone, action: Accept, reason: `reason="sp=none"`},
		{name: "subdomain, org record sp=quarantine over p=none",
			dns:      map[string]string{"_dmarc.example.com": "v=DMARC1; p=none; sp=quarantine"},
			mailFrom: "evil.test", from: "a.b.example.com",
			dmarc: authres.ResultFail, policy: dmarc.PolicyQuarantine, applied: dmarc.PolicyQuarantine, action: Quarantine},
		{name: "org domain itself: p applies, not sp",
			dns:      map[string]string{"_dmarc.example.com": "v=DMARC1; p=none; sp=reject"},
			mailFrom: "evil.test", from: "example.com",
			dmarc: authres.ResultFail, policy: dmarc.PolicyNone, applied: dmarc.PolicyNone, action: Accept},
		{name: "subdomain's own record wins over the org record",
			dns:      map[string]string{"_dmarc.news.example.com": "v=DMARC1; p=none; sp=reject", "_dmarc.example.com": "v=DMARC1; p=reject"},
			mailFrom: "evil.test", from: "news.example.com",
			dmarc: authres.ResultFail, policy: dmarc.PolicyNone, applied: dmarc.PolicyNone, action: Accept},
		{name: "non-DMARC TXT at the subdomain: falls back to the org record",
			dns:      map[string]string{"_dmarc.news.example.com": "v=DMARC1p=none", "_dmarc.example.com": "v=DMARC1; p=quarantine"},
			mailFrom: "evil.test", from: "news.example.com",
			dmarc: authres.ResultFail, policy: dmarc.PolicyQuarantine, applied: dmarc.PolicyQuarantine, action: Quarantine},
		{name: "temporary DNS failure: no fallback, temperror",
			dns:  map[string]string{"_dmarc.example.com": "v=DMARC1; p=reject"},
			fail: "_dmarc.news.example.com", mailFrom: "evil.test", from: "news.example.com",
			dmarc: authres.ResultTempError, action: Accept},
		{name: "invalid record: permerror, not applied",
			dns:      map[string]string{"_dmarc.example.com": "v=DMARC1; p=bounce"},
			mailFrom: "evil.test", from: "example.com", dmarc: authres.ResultPermError, action: Accept},
		{name: "no record anywhere",
			mailFrom: "evil.test", from: "news.example.com", dmarc: authres.ResultNone, action: Accept},

		// pct= (§6.6.4): sampled-out messages get the next-lower policy.
		{name: "pct=0 reject: quarantine",
			dns:      map[string]string{"_dmarc.example.com": "v=DMARC1; p=reject; pct=0"},
			mailFrom: "evil.test", from: "example.com", sample: 0,
			dmarc: authres.ResultFail, policy: dmarc.PolicyReject, applied: dmarc.PolicyQuarantine, action: Quarantine,
			reason: `reason="p=reject pct=0, not sampled: quarantine"`},
		{name: "pct=100 reject: reject",
			dns:      map[string]string{"_dmarc.example.com": "v=DMARC1; p=reject; pct=100"},
			mailFrom: "evil.test", from: "example.com", sample: 99,
			dmarc: authres.ResultFail, policy: dmarc.PolicyReject, applied: dmarc.PolicyReject, action: Reject},
		{name: "pct=50 reject, sample 49: reject",
			dns:      map[string]string{"_dmarc.example.com": "v=DMARC1; p=reject; pct=50"},
			mailFrom: "evil.test", from: "example.com", sample: 49,
			dmarc: authres.ResultFail, policy: dmarc.PolicyReject, applied: dmarc.PolicyReject, action: Reject,
			reason: `reason="p=reject pct=50, sampled"`},
		{name: "pct=50 reject, sample 50: quarantine",
			dns:      map[string]string{"_dmarc.example.com": "v=DMARC1; p=reject; pct=50"},
			mailFrom: "evil.test", from: "example.com", sample: 50,
			dmarc: authres.ResultFail, policy: dmarc.PolicyReject, applied: dmarc.PolicyQuarantine, action: Quarantine},
		{name: "pct=50 quarantine, sample 50: none",
			dns:      map[string]string{"_dmarc.example.com": "v=DMARC1; p=quarantine; pct=50"},
			mailFrom: "evil.test", from: "example.com", sample: 50,
			dmarc: authres.ResultFail, policy: dmarc.PolicyQuarantine, applied: dmarc.PolicyNone, action: Accept},
		{name: "pct=50 quarantine, sample 0: quarantine",
			dns:      map[string]string{"_dmarc.example.com": "v=DMARC1; p=quarantine; pct=50"},
			mailFrom: "evil.test", from: "example.com", sample: 0,
			dmarc: authres.ResultFail, policy: dmarc.PolicyQuarantine, applied: dmarc.PolicyQuarantine, action: Quarantine},
		{name: "pct=50 sp=reject for a subdomain, sample 50: quarantine",
			dns:      map[string]string{"_dmarc.example.com": "v=DMARC1; p=none; sp=reject; pct=50"},
			mailFrom: "evil.test", from: "news.example.com", sample: 50,
			dmarc: authres.ResultFail, policy: dmarc.PolicyReject, applied: dmarc.PolicyQuarantine, action: Quarantine,
			reason: `reason="sp=reject pct=50, not sampled: quarantine"`},
		{name: "pct=50 reject sampled, rejects quarantined by config",
			dns:      map[string]string{"_dmarc.example.com": "v=DMARC1; p=reject; pct=50"},
			mailFrom: "evil.test", from: "example.com", sample: 10, rejectsQ: true,
			dmarc: authres.ResultFail, policy: dmarc.PolicyReject, applied: dmarc.PolicyReject, action: Quarantine},
		{name: "pct=50 pass is unaffected",
			dns:      map[string]string{"example.com": spfOK, "_dmarc.example.com": "v=DMARC1; p=reject; pct=50"},
			mailFrom: "example.com", from: "example.com", sample: 50, dmarc: authres.ResultPass},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := mapResolver{}
			for name, txt := range tc.dns {
				res[name] = []string{txt}
			}
			raw := authorMsg(t, res, tc.from, tc.dkim)
			ip := goodIP
			if tc.dkim != "" && tc.mailFrom == "" {
				ip = badIP // DKIM alone decides
			}
			samples := 0
			c := New(Config{Hostname: "mx.example.org", Resolver: failResolver{res, map[string]bool{tc.fail: true}},
				QuarantineRejects: tc.rejectsQ, Sample: func() int { samples++; return tc.sample }})
			mailFrom := "s@" + tc.mailFrom
			if tc.mailFrom == "" {
				mailFrom = "" // null sender: SPF checks the HELO name
			}
			v := c.Check(context.Background(), Input{IP: ip, HELO: "mx.sender.test", MailFrom: mailFrom, Raw: raw})
			if v.DMARC != tc.dmarc || v.Policy != tc.policy || v.Applied != tc.applied || v.Action != tc.action {
				t.Errorf("dmarc=%s policy=%q applied=%q action=%d, want dmarc=%s policy=%q applied=%q action=%d\n%s",
					v.DMARC, v.Policy, v.Applied, v.Action, tc.dmarc, tc.policy, tc.applied, tc.action, v.Header)
			}
			if !strings.Contains(v.Header, "dmarc="+string(tc.dmarc)) {
				t.Errorf("header lacks dmarc=%s: %q", tc.dmarc, v.Header)
			}
			if tc.reason != "" && !strings.Contains(v.Header, tc.reason) {
				t.Errorf("header lacks %s: %q", tc.reason, v.Header)
			}
			// The random source is consulted only when pct is strictly
			// between 0 and 100 and decides a failure.
			want := 0
			if strings.Contains(v.Header, "sampled") && !strings.Contains(v.Header, "pct=0,") {
				want = 1
			}
			if samples != want {
				t.Errorf("Sample called %d times, want %d", samples, want)
			}
		})
	}
}

func TestDMARCMultipleRecords(t *testing.T) {
	res := mapResolver{"_dmarc.example.com": {"v=DMARC1; p=reject", "v=spf1 -all", "v=DMARC1; p=none"}}
	c := New(Config{Resolver: res})
	v := c.Check(context.Background(), Input{IP: badIP, HELO: "x.test", MailFrom: "s@evil.test", Raw: authorMsg(t, res, "example.com", "")})
	if v.DMARC != authres.ResultPermError || v.Action != Accept {
		t.Fatalf("two DMARC records: %+v", v)
	}
}

func TestOrgDomain(t *testing.T) {
	for in, want := range map[string]string{
		"example.com":             "example.com",
		"a.b.example.com":         "example.com",
		"example.co.uk":           "example.co.uk",
		"mail.example.co.uk":      "example.co.uk",
		"co.uk":                   "co.uk",
		"com":                     "com",
		"x.alice.github.io":       "alice.github.io",
		"mx.sender.test":          "sender.test", // unlisted TLD: "*" rule
		"localhost":               "localhost",
		"www.xn--bcher-kva.co.uk": "xn--bcher-kva.co.uk",
	} {
		if got := orgDomain(in); got != want {
			t.Errorf("orgDomain(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestIsDMARC1(t *testing.T) {
	for txt, want := range map[string]bool{
		"v=DMARC1; p=none":   true,
		"v = DMARC1 ;p=none": true,
		"v=DMARC1":           true,
		"v=DMARC1p=none":     false,
		"v=DMARC2; p=none":   false,
		"v=dmarc1; p=none":   false,
		"p=none; v=DMARC1":   false,
		"v=spf1 -all":        false,
		"":                   false,
	} {
		if got := isDMARC1(txt); got != want {
			t.Errorf("isDMARC1(%q) = %v", txt, got)
		}
	}
}

func TestDefaultSample(t *testing.T) {
	c := New(Config{})
	for range 1000 {
		if n := c.cfg.Sample(); n < 0 || n >= 100 {
			t.Fatalf("Sample() = %d", n)
		}
	}
}

// FuzzDMARCRecord feeds arbitrary published records through policy
// discovery and evaluation of a failing message.
func FuzzDMARCRecord(f *testing.F) {
	f.Add("v=DMARC1; p=reject; sp=none; pct=50", "v=DMARC1; p=quarantine", 50)
	f.Add("v=DMARC1; p=none; adkim=s; aspf=r; pct=0", "", 0)
	f.Add("v=DMARC1;p=reject;pct=101", "v=DMARC1; p=reject; sp=quarantine; pct=1", 99)
	f.Add("v=spf1 -all", "v = DMARC1 ; p = reject ; ; ", 1)
	f.Fuzz(func(t *testing.T, sub, org string, sample int) {
		res := mapResolver{"_dmarc.news.example.com": {sub}, "_dmarc.example.com": {org}}
		c := New(Config{Resolver: res, Sample: func() int { return sample }})
		v := c.Check(context.Background(), Input{IP: badIP, HELO: "x.test", MailFrom: "s@evil.test",
			Raw: []byte("From: <s@news.example.com>\r\n\r\nbody\r\n")})
		if !strings.HasSuffix(v.Header, "\r\n") {
			t.Fatalf("header %q", v.Header)
		}
		switch v.Applied {
		case dmarc.PolicyReject:
			if v.Action != Reject {
				t.Fatalf("applied reject, action %d", v.Action)
			}
		case dmarc.PolicyQuarantine:
			if v.Action != Quarantine {
				t.Fatalf("applied quarantine, action %d", v.Action)
			}
		default:
			if v.Action != Accept {
				t.Fatalf("applied %q, action %d", v.Applied, v.Action)
			}
		}
		if v.Action != Accept && (v.DMARC != authres.ResultFail || v.Policy == "") {
			t.Fatalf("action %d for dmarc=%s policy=%q", v.Action, v.DMARC, v.Policy)
		}
		if v.Applied != v.Policy && v.Applied != nextLower(v.Policy) {
			t.Fatalf("applied %q for policy %q", v.Applied, v.Policy)
		}
	})
}
