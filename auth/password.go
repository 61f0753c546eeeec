// Package auth holds password hashing, the SASL mechanisms mailroom offers
// (PLAIN, LOGIN) and the Authenticator that every protocol server uses to
// check credentials, with per-IP and per-account throttling of failures.
package auth

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Argon2id parameters (RFC 9106 §4 second recommendation scaled to a small
// server, the OWASP 2023 minimum: 19 MiB, 2 passes, 1 lane).
const (
	argonTime    = 2
	argonMemory  = 19 * 1024 // KiB
	argonThreads = 1
	argonKeyLen  = 32
	argonSaltLen = 16
)

// ErrBadHash is returned for a stored hash mailroom cannot read.
var ErrBadHash = errors.New("auth: unrecognised password hash")

// HashPassword returns the stored credentials for password: a PHC-format
// argon2id hash ($argon2id$v=19$m=19456,t=2,p=1$<salt>$<key>) and, on a
// second line, the SCRAM-SHA-256 keys (see credentials.go).
func HashPassword(password string) (string, error) {
	argon, err := hashArgon2id(password)
	if err != nil {
		return "", err
	}
	if line, err := scramLine(password); err == nil {
		return argon + "\n" + line, nil
	}
	return argon, nil
}

func hashArgon2id(password string) (string, error) {
	salt := make([]byte, argonSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(password), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, argonMemory, argonTime, argonThreads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// VerifyPassword reports whether password matches the stored credentials
// (see HashPassword), in constant time with respect to the password.
func VerifyPassword(hash, password string) (bool, error) {
	argon, _ := splitCredentials(hash)
	p, err := parseArgon2id(argon)
	if err != nil {
		return false, err
	}
	key := argon2.IDKey([]byte(password), p.salt, p.time, p.memory, p.threads, uint32(len(p.key)))
	return subtle.ConstantTimeCompare(key, p.key) == 1, nil
}

type argonParams struct {
	time, memory uint32
	threads      uint8
	salt, key    []byte
}

func parseArgon2id(hash string) (argonParams, error) {
	var p argonParams
	f := strings.Split(hash, "$")
	// "", "argon2id", "v=19", "m=..,t=..,p=..", salt, key
	if len(f) != 6 || f[0] != "" || f[1] != "argon2id" {
		return p, ErrBadHash
	}
	var v int
	if _, err := fmt.Sscanf(f[2], "v=%d", &v); err != nil || v != argon2.Version {
		return p, ErrBadHash
	}
	if _, err := fmt.Sscanf(f[3], "m=%d,t=%d,p=%d", &p.memory, &p.time, &p.threads); err != nil {
		return p, ErrBadHash
	}
	if p.time == 0 || p.memory == 0 || p.threads == 0 || p.memory > 1<<22 || p.time > 64 {
		return p, ErrBadHash
	}
	b64 := base64.RawStdEncoding
	var err error
	if p.salt, err = b64.DecodeString(f[4]); err != nil {
		return p, ErrBadHash
	}
	if p.key, err = b64.DecodeString(f[5]); err != nil || len(p.key) < 16 || len(p.key) > 64 {
		return p, ErrBadHash
	}
	return p, nil
}
