package auth

import (
	"testing"

	"github.com/xdg-go/scram"
)

// FuzzCredentials: stored credentials of any shape never panic the
// parsers, and what parses has the documented bounds.
func FuzzCredentials(f *testing.F) {
	h, _ := HashPassword("pw")
	f.Add(h)
	f.Add("$scram-sha-256$4096$c2FsdA$AAAA$AAAA")
	f.Add("$argon2id$v=19$m=1,t=1,p=1$AAAA$AAAA\n$scram-sha-256$$$$")
	f.Fuzz(func(t *testing.T, stored string) {
		argon, line := splitCredentials(stored)
		VerifyPassword(argon, "pw")
		if c, err := parseSCRAM(line); err == nil && (c.Iters < 4096 || len(c.StoredKey) != 32) {
			t.Fatalf("accepted %q: %+v", line, c)
		}
	})
}

// FuzzSCRAMServer feeds arbitrary client messages to the SCRAM server:
// no panic, and no success without the password.
func FuzzSCRAMServer(f *testing.F) {
	f.Add([]byte("n,,n=u@example.test,r=abc"), []byte("c=biws,r=abc,p=AAAA"), []byte(""))
	f.Add([]byte("p=tls-exporter,,n=u,r=x"), []byte("c=,r=x,p="), []byte("x"))
	f.Add([]byte("y,a=other,n=u,r=1"), []byte(""), []byte(""))
	creds := scram.StoredCredentials{KeyFactors: scram.KeyFactors{Salt: "salt", Iters: 4096}, StoredKey: make([]byte, 32), ServerKey: make([]byte, 32)}
	f.Fuzz(func(t *testing.T, first, final, last []byte) {
		var ok bool
		srv, err := NewSASL(MechSCRAMSHA256, SASLConfig{SCRAM: func(string) (scram.StoredCredentials, func(bool) error, error) {
			return creds, func(valid bool) error {
				if valid {
					ok = true
					return nil
				}
				return ErrInvalidCredentials
			}, nil
		}})
		if err != nil {
			t.Fatal(err)
		}
		for _, msg := range [][]byte{first, final, last, nil} {
			_, done, err := srv.Next(msg)
			if done || err != nil {
				break
			}
		}
		if ok {
			t.Fatal("proof accepted for all-zero stored key")
		}
	})
}
