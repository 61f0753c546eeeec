package queue

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"net/mail"
	"os"
	"path/filepath"
	"strings"

	"github.com/emersion/go-msgauth/dkim"
)

// DKIM selectors of the keys `mailroom dkim generate` makes. Both keys
// sign (RFC 8463 §4 dual signing: verifiers without Ed25519 use RSA).
const (
	SelectorEd25519 = "mailroom-ed"
	SelectorRSA     = "mailroom-rsa"
)

// dkimHeaders are the signed header fields (RFC 6376 §5.4.1).
var dkimHeaders = []string{
	"From", "Reply-To", "Subject", "Date", "To", "Cc", "Message-ID",
	"In-Reply-To", "References", "MIME-Version", "Content-Type",
	"Content-Transfer-Encoding",
}

// DKIMSigner signs messages whose From: domain has keys in its directory
// (DIR/DOMAIN/SELECTOR.key, PKCS #8 PEM).
type DKIMSigner struct {
	dir string
}

// NewDKIMSigner returns a signer for keys under dir (the data directory's
// "dkim" folder). Keys are read at signing time, so keys generated while
// the server runs are used at once.
func NewDKIMSigner(dir string) *DKIMSigner { return &DKIMSigner{dir: dir} }

var _ Signer = (*DKIMSigner)(nil)

// Sign implements Signer: relaxed/relaxed, one signature per key of
// domain, and nothing unless domain is the From: domain of raw.
func (s *DKIMSigner) Sign(raw []byte, domain string) ([]byte, error) {
	domain = strings.ToLower(domain)
	if domain == "" || domain != authorDomain(raw) || strings.ContainsAny(domain, `/\`) || strings.HasPrefix(domain, ".") {
		return raw, nil
	}
	var sigs []string
	for _, sel := range []string{SelectorEd25519, SelectorRSA} {
		key, err := readKey(filepath.Join(s.dir, domain, sel+".key"))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return raw, err
		}
		var out bytes.Buffer
		opts := &dkim.SignOptions{
			Domain:                 domain,
			Selector:               sel,
			Signer:                 key,
			HeaderCanonicalization: dkim.CanonicalizationRelaxed,
			BodyCanonicalization:   dkim.CanonicalizationRelaxed,
			HeaderKeys:             dkimHeaders,
		}
		if err := dkim.Sign(&out, bytes.NewReader(raw), opts); err != nil {
			return raw, err
		}
		sigs = append(sigs, string(out.Bytes()[:len(out.Bytes())-len(raw)]))
	}
	if len(sigs) == 0 {
		return raw, nil
	}
	return append([]byte(strings.Join(sigs, "")), raw...), nil
}

// authorDomain is the lower-cased domain of the From: header.
func authorDomain(raw []byte) string {
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return ""
	}
	addrs, err := m.Header.AddressList("From")
	if err != nil || len(addrs) == 0 {
		return ""
	}
	return domainOf(addrs[0].Address)
}

func readKey(path string) (crypto.Signer, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, fmt.Errorf("dkim key %s: not PEM", path)
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("dkim key %s: %w", path, err)
	}
	s, ok := k.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("dkim key %s: unsupported key type", path)
	}
	return s, nil
}

// DKIMRecord is one TXT record to publish.
type DKIMRecord struct {
	Name  string // selector._domainkey.domain
	Value string // v=DKIM1; k=…; p=…
}

// GenerateDKIM creates an Ed25519 and an RSA-2048 key for domain under dir
// (refusing to overwrite existing keys) and returns the TXT records.
func GenerateDKIM(dir, domain string) ([]DKIMRecord, error) {
	domain = strings.ToLower(strings.TrimSuffix(domain, "."))
	if domain == "" || strings.ContainsAny(domain, `/\ `) || strings.HasPrefix(domain, ".") {
		return nil, fmt.Errorf("bad domain %q", domain)
	}
	ddir := filepath.Join(dir, domain)
	if err := os.MkdirAll(ddir, 0o700); err != nil {
		return nil, err
	}
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	for sel, k := range map[string]crypto.Signer{SelectorEd25519: edKey, SelectorRSA: rsaKey} {
		der, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			return nil, err
		}
		f, err := os.OpenFile(filepath.Join(ddir, sel+".key"), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return nil, fmt.Errorf("%w (remove the old keys first to replace them)", err)
		}
		err = pem.Encode(f, &pem.Block{Type: "PRIVATE KEY", Bytes: der})
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return nil, err
		}
	}
	return DKIMRecords(dir, domain)
}

// DKIMRecords returns the TXT records for the keys of domain under dir.
func DKIMRecords(dir, domain string) ([]DKIMRecord, error) {
	var out []DKIMRecord
	for _, sel := range []string{SelectorEd25519, SelectorRSA} {
		k, err := readKey(filepath.Join(dir, domain, sel+".key"))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		var kt string
		var pub []byte
		switch p := k.Public().(type) {
		case ed25519.PublicKey:
			kt, pub = "ed25519", p // RFC 8463 §4.2: the raw 32-byte key
		case *rsa.PublicKey:
			kt = "rsa"
			if pub, err = x509.MarshalPKIXPublicKey(p); err != nil {
				return nil, err
			}
		default:
			return nil, fmt.Errorf("dkim key for %s: unsupported type", domain)
		}
		out = append(out, DKIMRecord{
			Name:  sel + "._domainkey." + domain,
			Value: "v=DKIM1; k=" + kt + "; p=" + base64.StdEncoding.EncodeToString(pub),
		})
	}
	return out, nil
}
