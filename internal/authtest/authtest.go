// Package authtest gives the servers' tests stored credentials that are
// cheap to verify. auth.HashPassword's argon2id (m=19456, t=2) takes about
// 2 s per hash and per verification under -race on a loaded 2-core
// machine, and every test server, account and login paid it: minutes per
// package. The hashing itself is tested in package auth with the real
// parameters. It is imported by tests and by the benchmark tool (mrbench hash -cheap), never by the server.
package authtest

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"strings"
	"sync"

	"golang.org/x/crypto/argon2"

	"github.com/mailroom/mailroom/auth"
)

var (
	mu    sync.Mutex
	creds = map[string]string{}
)

// Credentials returns stored credentials for password in
// auth.HashPassword's format: an argon2id line with m=1024,t=1 (its
// parameters are read from the line, so verifying costs milliseconds) and
// the SCRAM line of a real auth.HashPassword, computed once per password
// and test binary.
func Credentials(password string) string {
	mu.Lock()
	defer mu.Unlock()
	if c, ok := creds[password]; ok {
		return c
	}
	full, err := auth.HashPassword(password)
	if err != nil {
		panic(err)
	}
	c := Argon2id(password)
	if _, scram, ok := strings.Cut(full, "\n"); ok {
		c += "\n" + scram
	}
	creds[password] = c
	return c
}

// Argon2id returns a cheap argon2id line for password alone (an account
// stored before SCRAM existed).
func Argon2id(password string) string {
	salt := make([]byte, 16)
	rand.Read(salt)
	const m, t = 1024, 1
	key := argon2.IDKey([]byte(password), salt, t, m, 1, 32)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=1$%s$%s", argon2.Version, m, t, b64.EncodeToString(salt), b64.EncodeToString(key))
}
