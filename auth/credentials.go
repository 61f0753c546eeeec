package auth

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"

	"github.com/xdg-go/scram"
)

// A stored credential (store.Account.PasswordHash) is one or more lines:
//
//	$argon2id$v=19$m=19456,t=2,p=1$<salt>$<key>            (PLAIN, LOGIN)
//	$scram-sha-256$<iterations>$<salt>$<storedkey>$<serverkey>  (SCRAM-SHA-256, RFC 5802 §3, RFC 7677)
//
// salt and keys in unpadded standard base64. Older accounts have only the
// first line: they log in with PLAIN and LOGIN, and SCRAM fails for them
// like a wrong password until the password is set again.

// scramIterations is the PBKDF2 iteration count for new SCRAM keys; RFC
// 7677 §4 requires at least 4096.
const scramIterations = 4096

const scramPrefix = "$scram-sha-256$"

// splitCredentials returns the argon2id line and the SCRAM line (either
// may be empty).
func splitCredentials(stored string) (argon, scramLine string) {
	for _, line := range strings.Split(stored, "\n") {
		line = strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(line, "$argon2id$") && argon == "":
			argon = line
		case strings.HasPrefix(line, scramPrefix) && scramLine == "":
			scramLine = line
		}
	}
	return argon, scramLine
}

// scramLine derives the SCRAM-SHA-256 keys of password with a fresh salt.
// It fails for a password SASLprep refuses (RFC 4013), which then has no
// SCRAM credentials.
func scramLine(password string) (string, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	client, err := scram.SHA256.NewClient("", password, "")
	if err != nil {
		return "", err
	}
	creds, err := client.GetStoredCredentialsWithError(scram.KeyFactors{Salt: string(salt), Iters: scramIterations})
	if err != nil {
		return "", err
	}
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("%s%d$%s$%s$%s", scramPrefix, scramIterations,
		b64.EncodeToString(salt), b64.EncodeToString(creds.StoredKey), b64.EncodeToString(creds.ServerKey)), nil
}

// parseSCRAM reads a SCRAM line.
func parseSCRAM(line string) (scram.StoredCredentials, error) {
	var c scram.StoredCredentials
	f := strings.Split(strings.TrimPrefix(line, scramPrefix), "$")
	if !strings.HasPrefix(line, scramPrefix) || len(f) != 4 {
		return c, ErrBadHash
	}
	iters, err := strconv.Atoi(f[0])
	if err != nil || iters < 4096 || iters > 1<<24 {
		return c, ErrBadHash
	}
	b64 := base64.RawStdEncoding
	salt, err1 := b64.DecodeString(f[1])
	stored, err2 := b64.DecodeString(f[2])
	server, err3 := b64.DecodeString(f[3])
	if err1 != nil || err2 != nil || err3 != nil || len(salt) == 0 || len(stored) != 32 || len(server) != 32 {
		return c, ErrBadHash
	}
	c.Salt, c.Iters, c.StoredKey, c.ServerKey = string(salt), iters, stored, server
	return c, nil
}
