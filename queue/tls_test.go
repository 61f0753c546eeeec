package queue

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"testing"
	"time"
)

func selfSigned(t *testing.T) *tls.Config {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "sink.test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), DNSNames: []string{"sink.test"}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
}

// A server offering STARTTLS gets the message encrypted (opportunistic:
// its self-signed certificate is accepted).
func TestOpportunisticSTARTTLS(t *testing.T) {
	st, _ := newStoreWith(t, "alice@example.org")
	sk := startSinkWith(t, nil, selfSigned(t), nil)
	res := newTestResolver()
	res.addMX("remote.test", "mx.remote.test")
	q := startQueue(t, fastConfig(st, res, map[string]string{"mx.remote.test": sk.port()}))
	if _, err := q.Enqueue(context.Background(), "alice@example.org", []string{"bob@remote.test"}, []byte(testMsg)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the queue to empty", queueEmpty(t, st))
	if m := sk.messages(); len(m) != 1 || !m[0].tls {
		t.Fatalf("messages %+v, want one over TLS", m)
	}
}

// relay_host: every domain goes through the smarthost in one transaction,
// after AUTH; MX records are not consulted.
func TestRelayHostWithAuth(t *testing.T) {
	st, _ := newStoreWith(t, "alice@example.org")
	sk := startSinkWith(t, nil, selfSigned(t), map[string]string{"relayuser": "relaypw"})
	cfg := fastConfig(st, newTestResolver(), nil)
	cfg.RelayHost = net.JoinHostPort("127.0.0.1", sk.port())
	cfg.RelayUser, cfg.RelayPassword = "relayuser", "relaypw"
	q := startQueue(t, cfg)
	if _, err := q.Enqueue(context.Background(), "alice@example.org", []string{"bob@remote.test", "carol@other.test"}, []byte(testMsg)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the queue to empty", queueEmpty(t, st))
	m := sk.messages()
	if len(m) != 1 || len(m[0].rcpts) != 2 || m[0].user != "relayuser" || !m[0].tls {
		t.Fatalf("relay got %+v", m)
	}
}
