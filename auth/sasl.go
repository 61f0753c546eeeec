package auth

import (
	"crypto/tls"
	"encoding/base64"
	"errors"
	"strings"

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

// MechanismsFor lists the mechanisms for a connection with TLS state st
// (nil without TLS) under the default settings, where
// SCRAM-SHA-256-PLUS is off: Mechanisms. Servers use
// (*Authenticator).MechanismsFor, which honours WithSCRAMPlus.
func MechanismsFor(st *tls.ConnectionState) []string {
	return mechanisms(st, false)
}

// MechanismsFor lists the mechanisms a protocol server advertises on a
// connection with TLS state st (nil without TLS): Mechanisms, plus
// SCRAM-SHA-256-PLUS on a TLS 1.3 connection (tls-exporter channel
// binding, RFC 9266) when WithSCRAMPlus is on. a may be nil (defaults).
func (a *Authenticator) MechanismsFor(st *tls.ConnectionState) []string {
	return mechanisms(st, a != nil && a.scramPlus)
}

func mechanisms(st *tls.ConnectionState, plus bool) []string {
	m := append([]string(nil), Mechanisms...)
	if _, ok := channelBinding(st); ok && plus {
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
	// Plus offers SCRAM-SHA-256-PLUS where TLS allows it; without it
	// the mechanism is unknown and a client's "y" flag (it could bind
	// but believes the server cannot) is accepted, as RFC 5802 §6
	// requires when -PLUS is not advertised.
	Plus bool
}

// ErrUnknownMechanism is returned by NewSASLServer for a mechanism mailroom
// does not offer.
var ErrUnknownMechanism = errors.New("auth: unknown SASL mechanism")

// ErrMalformedResponse is a client SASL response that is not valid
// base64 (RFC 4648 §4). It is the client's syntax error, not a credential
// failure or a temporary one, and counts as no login attempt: SMTP
// answers 501 5.5.2 (RFC 4954 §4), IMAP BAD, POP3 -ERR.
var ErrMalformedResponse = errors.New("auth: SASL response is not valid base64")

// DecodeResponse decodes one base64 SASL client response: an AUTH
// initial response or a line answering a challenge. "=" (RFC 4954 §4,
// RFC 4959 §3, RFC 5034 §4) and an empty line are an empty response.
// Invalid base64 is ErrMalformedResponse.
func DecodeResponse(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if s == "=" || s == "" {
		return []byte{}, nil
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, ErrMalformedResponse
	}
	return b, nil
}

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
		return newSCRAMServer(m, cfg.SCRAM, cfg.TLS, cfg.Plus)
	case MechPlain:
		return sasl.NewPlainServer(func(identity, username, password string) error {
			// An authorization identity other than the user itself would be
			// proxy authentication, which mailroom does not offer.
			if identity != "" && identity != username || len(identity) > MaxUserNameBytes {
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
