package auth

import (
	"crypto/tls"
	"errors"

	"github.com/emersion/go-sasl"
)

// SASL mechanism names offered by every protocol server.
const (
	MechPlain = sasl.Plain // RFC 4616
	MechLogin = sasl.Login // draft-murchison-sasl-login
)

// Mechanisms lists the SASL mechanisms (without channel binding) in the
// order servers advertise them; see MechanismsFor.
var Mechanisms = []string{MechPlain, MechLogin, MechSCRAMSHA256}

// MechanismsFor lists the mechanisms for a connection: Mechanisms, plus
// SCRAM-SHA-256-PLUS on a TLS 1.3 connection (tls-exporter channel
// binding, RFC 9266). st is nil without TLS.
func MechanismsFor(st *tls.ConnectionState) []string {
	m := append([]string(nil), Mechanisms...)
	if _, ok := channelBinding(st); ok {
		m = append(m, MechSCRAMSHA256Plus)
	}
	return m
}

// SASLConfig gives NewSASL what the mechanisms need.
type SASLConfig struct {
	Check CheckFunc // PLAIN and LOGIN
	SCRAM SCRAMFunc // SCRAM-SHA-256(-PLUS); nil: not available
	// TLS is the connection's TLS state, for channel binding; nil
	// without TLS.
	TLS *tls.ConnectionState
}

// ErrUnknownMechanism is returned by NewSASLServer for a mechanism mailroom
// does not offer.
var ErrUnknownMechanism = errors.New("auth: unknown SASL mechanism")

// CheckFunc checks a username and password, returning nil on success.
type CheckFunc func(username, password string) error

// NewSASLServer returns a server side of mechanism mech (case-insensitive)
// that calls check with the credentials the client sends. It offers only
// the password mechanisms; NewSASL offers SCRAM too.
func NewSASLServer(mech string, check CheckFunc) (sasl.Server, error) {
	return NewSASL(mech, SASLConfig{Check: check})
}

// NewSASL returns a server side of mechanism mech (case-insensitive).
// Errors from the returned server's Next are ErrInvalidCredentials (for
// SCRAM also a malformed exchange), ErrThrottled, or what the check or
// lookup returned; none is meant for the client verbatim.
func NewSASL(mech string, cfg SASLConfig) (sasl.Server, error) {
	check := cfg.Check
	switch m := upper(mech); m {
	case MechSCRAMSHA256, MechSCRAMSHA256Plus:
		if cfg.SCRAM == nil {
			return nil, ErrUnknownMechanism
		}
		return newSCRAMServer(m, cfg.SCRAM, cfg.TLS)
	case MechPlain:
		return sasl.NewPlainServer(func(identity, username, password string) error {
			// An authorization identity other than the user itself would be
			// proxy authentication, which mailroom does not offer.
			if identity != "" && identity != username {
				return ErrInvalidCredentials
			}
			return check(username, password)
		}), nil
	case MechLogin:
		return &loginServer{check: check}, nil
	}
	return nil, ErrUnknownMechanism
}

// loginServer implements the LOGIN mechanism: the server prompts
// "Username:" then "Password:" (base64 "VXNlcm5hbWU6" and "UGFzc3dvcmQ6" on
// the wire). An initial response is taken as the username.
type loginServer struct {
	check    CheckFunc
	step     int
	username string
}

func (s *loginServer) Next(response []byte) (challenge []byte, done bool, err error) {
	switch s.step {
	case 0:
		s.step = 1
		if response == nil {
			return []byte("Username:"), false, nil
		}
		fallthrough
	case 1:
		s.username = string(response)
		s.step = 2
		return []byte("Password:"), false, nil
	case 2:
		s.step = 3
		return nil, true, s.check(s.username, string(response))
	}
	return nil, true, sasl.ErrUnexpectedClientResponse
}

func upper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'a' <= c && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}
