package auth

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"errors"
	"net"
	"strings"

	"github.com/emersion/go-sasl"
	"github.com/xdg-go/scram"

	"github.com/mailroom/mailroom/store"
)

// SCRAM mechanism names (RFC 7677, RFC 5802 §6 for -PLUS).
const (
	MechSCRAMSHA256     = "SCRAM-SHA-256"
	MechSCRAMSHA256Plus = "SCRAM-SHA-256-PLUS"
)

// SCRAMFunc looks up the SCRAM credentials of username. finish is called
// once, after the client's proof was checked, with the result; it returns
// nil only if the login succeeds.
type SCRAMFunc func(username string) (creds scram.StoredCredentials, finish func(valid bool) error, err error)

// LookupSCRAM is the SCRAM counterpart of Authenticate: it applies the same
// throttling (the refusal with ErrThrottled, the delay before the lookup)
// and returns the credentials of username. For an unknown user, or an
// account without SCRAM keys, it returns made-up credentials that no proof
// matches, stable per username, so that the exchange looks the same as for
// a wrong password. finish judges the attempt again and records its
// outcome in one step, so exchanges opened before a limit was reached
// cannot be finished past it: it returns the account, ErrThrottled, or
// ErrInvalidCredentials.
func (a *Authenticator) LookupSCRAM(ctx context.Context, username string, remote net.Addr) (scram.StoredCredentials, func(valid bool) (store.Account, error), error) {
	at := newAttempt(username, remote)
	mech := MechSCRAMSHA256
	if mechanismOf(ctx, "") == MechSCRAMSHA256Plus {
		mech = MechSCRAMSHA256Plus
	}
	why, delay := a.th.check(at.keys, a.now())
	if why != "" {
		a.logRefused(at, why, mech)
		return scram.StoredCredentials{}, nil, ErrThrottled
	}
	if err := a.wait(ctx, at, delay, mech); err != nil {
		return scram.StoredCredentials{}, nil, err
	}
	var acct store.Account
	real := false
	if !at.tooLong {
		var err error
		acct, err = a.accounts.AccountByEmail(ctx, at.user)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return scram.StoredCredentials{}, nil, err
		}
		real = err == nil
	}
	var creds scram.StoredCredentials
	if real {
		_, line := splitCredentials(acct.PasswordHash)
		var err error
		if creds, err = parseSCRAM(line); err != nil {
			real = false
		}
	}
	if !real {
		creds = a.fakeSCRAM(at.user)
	}
	finished := false
	finish := func(valid bool) (store.Account, error) {
		if finished {
			return store.Account{}, ErrInvalidCredentials
		}
		finished = true
		ok := valid && real
		if why := a.th.decide(ctx, at.keys, ok, a.now); why != "" {
			a.logRefused(at, why, mech)
			return store.Account{}, ErrThrottled
		}
		if !ok {
			a.logFailed(at, mech)
			return store.Account{}, ErrInvalidCredentials
		}
		a.stats.succeeded.Add(1)
		a.observe(mech, outcomeSucceeded)
		return acct, nil
	}
	return creds, finish, nil
}

// fakeSCRAM derives credentials for a user who has none from a per-process
// secret: the same salt every time for one name, so probing cannot tell
// unknown users from known ones, and keys no proof can match.
func (a *Authenticator) fakeSCRAM(user string) scram.StoredCredentials {
	mac := func(label string) []byte {
		h := hmac.New(sha256.New, a.fakeSecret[:])
		h.Write([]byte(label + "\x00" + user))
		return h.Sum(nil)
	}
	return scram.StoredCredentials{
		KeyFactors: scram.KeyFactors{Salt: string(mac("salt")[:16]), Iters: scramIterations},
		StoredKey:  mac("stored"),
		ServerKey:  mac("server"),
	}
}

func newFakeSecret() (s [32]byte) {
	rand.Read(s[:])
	return s
}

// scramServer adapts an xdg-go/scram conversation to sasl.Server. The
// exchange is client-first, server-first, client-final, server-final (sent
// as a last challenge, RFC 4954 §4 / RFC 9051 §6.2.2), then an empty client
// response.
type scramServer struct {
	conv   *scram.ServerConversation
	finish func(valid bool) error
	err    error // from the lookup (throttling, store errors)
	step   int
}

// newSCRAMServer returns the server side of SCRAM-SHA-256, or of
// SCRAM-SHA-256-PLUS when plus is set (it is offered) and st has a
// tls-exporter binding.
func newSCRAMServer(mech string, lookup SCRAMFunc, st *tls.ConnectionState, plus bool) (sasl.Server, error) {
	s := &scramServer{}
	srv, err := scram.SHA256.NewServer(func(username string) (scram.StoredCredentials, error) {
		creds, finish, err := lookup(username)
		s.finish, s.err = finish, err
		return creds, err
	})
	if err != nil {
		return nil, err
	}
	cb, hasCB := channelBinding(st)
	hasCB = hasCB && plus
	switch {
	case mech == MechSCRAMSHA256Plus && !hasCB:
		return nil, ErrUnknownMechanism
	case mech == MechSCRAMSHA256Plus:
		s.conv = srv.NewConversationWithChannelBindingRequired(cb)
	case hasCB:
		// -PLUS is advertised here, so a client claiming the server does
		// not support channel binding ("y") is being downgraded.
		s.conv = srv.NewConversationWithChannelBinding(cb)
	default:
		s.conv = srv.NewConversation()
	}
	return s, nil
}

// channelBinding returns the tls-exporter binding (RFC 9266) of a TLS 1.3
// connection.
func channelBinding(st *tls.ConnectionState) (scram.ChannelBinding, bool) {
	if st == nil || !st.HandshakeComplete || st.Version < tls.VersionTLS13 {
		return scram.ChannelBinding{}, false
	}
	cb, err := scram.NewTLSExporterBinding(st)
	if err != nil {
		return scram.ChannelBinding{}, false
	}
	return cb, true
}

// errSCRAMProtocol is a malformed exchange; it fails like bad credentials.
var errSCRAMProtocol = errors.New("auth: malformed SCRAM exchange")

func (s *scramServer) Next(response []byte) ([]byte, bool, error) {
	switch s.step {
	case 0:
		if response == nil {
			// No initial response: ask for client-first with an empty
			// challenge. An empty initial response ("=") is not SCRAM.
			s.step = 1
			return []byte{}, false, nil
		}
		fallthrough
	case 1:
		s.step = 2
		if !hasNonce(response) {
			// RFC 5802 §5.1: the client nonce is a non-empty
			// printable string; xdg-go/scram would take an empty one.
			return nil, true, errSCRAMProtocol
		}
		out, err := s.conv.Step(string(response))
		if s.err != nil {
			return nil, true, s.err
		}
		if err != nil || s.conv.AuthzID() != "" && s.conv.AuthzID() != s.conv.Username() {
			return nil, true, errSCRAMProtocol
		}
		return []byte(out), false, nil
	case 2:
		s.step = 3
		out, err := s.conv.Step(string(response))
		if s.finish == nil {
			return nil, true, errSCRAMProtocol
		}
		if ferr := s.finish(err == nil && s.conv.Valid()); ferr != nil {
			return nil, true, ferr
		}
		return []byte(out), false, nil
	case 3:
		s.step = 4
		if len(response) != 0 {
			return nil, true, errSCRAMProtocol
		}
		return nil, true, nil
	}
	return nil, true, sasl.ErrUnexpectedClientResponse
}

// hasNonce reports whether a client-first-message (RFC 5802 §7:
// gs2-header, then n=user,r=nonce[,extensions]) has a non-empty nonce.
func hasNonce(msg []byte) bool {
	// Skip the gs2 header: channel-binding flag and authzid, each
	// followed by a comma.
	rest := string(msg)
	for range 2 {
		i := strings.IndexByte(rest, ',')
		if i < 0 {
			return false
		}
		rest = rest[i+1:]
	}
	for attr := range strings.SplitSeq(rest, ",") {
		if v, ok := strings.CutPrefix(attr, "r="); ok {
			return v != ""
		}
	}
	return false
}

// SASLConfig returns the NewSASL configuration for one authentication
// exchange on a connection from remote with TLS state st (nil without
// TLS): PLAIN/LOGIN through Authenticate, SCRAM through LookupSCRAM.
// result is called once with the outcome of the credential check (the
// account, or the error: ErrInvalidCredentials, ErrThrottled, or a store
// error) so that the protocol server can pick its reply.
func (a *Authenticator) SASLConfig(ctx context.Context, remote net.Addr, st *tls.ConnectionState, result func(store.Account, error)) SASLConfig {
	return SASLConfig{
		Check: func(username, password string) error {
			acct, err := a.Authenticate(ctx, username, password, remote)
			result(acct, err)
			return err
		},
		SCRAM: func(username string) (scram.StoredCredentials, func(bool) error, error) {
			creds, finish, err := a.LookupSCRAM(ctx, username, remote)
			if err != nil {
				result(store.Account{}, err)
				return creds, nil, err
			}
			return creds, func(valid bool) error {
				acct, err := finish(valid)
				result(acct, err)
				return err
			}, nil
		},
		TLS:  st,
		Plus: a.scramPlus,
	}
}
