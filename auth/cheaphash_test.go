package auth

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"

	"golang.org/x/crypto/argon2"
)

// cheapCredentials returns stored credentials for password like
// HashPassword's, but with an argon2id line at m=1024,t=1, which
// VerifyPassword reads its parameters from: milliseconds per login instead
// of about 2 s under -race on a loaded 2-core machine, where the throttle
// and cache tests (dozens of logins each) took minutes. TestHashAndVerify
// and the fuzz seed keep the real parameters. (internal/authtest does the
// same for the other packages; importing it here would be a cycle.) The
// Authenticator's dummy hash, verified for unknown users, is replaced the
// same way by cheapDummy.
func cheapCredentials(password string) string {
	salt := make([]byte, 16)
	rand.Read(salt)
	key := argon2.IDKey([]byte(password), salt, 1, 1024, 1, 32)
	b64 := base64.RawStdEncoding
	argon := fmt.Sprintf("$argon2id$v=%d$m=1024,t=1,p=1$%s$%s", argon2.Version, b64.EncodeToString(salt), b64.EncodeToString(key))
	line, err := scramLine(password)
	if err != nil {
		return argon
	}
	return argon + "\n" + line
}

// cheapDummy gives a the dummy hash unknown users are verified against at
// the cheap parameters (NewAuthenticator's costs the real ones).
func cheapDummy(a *Authenticator) *Authenticator {
	a.dummyHash = cheapCredentials("mailroom-dummy-password")
	return a
}
