package managesieve

import (
	"encoding/base64"
	"errors"
	"strings"

	"github.com/mailroom/mailroom/auth"
	"github.com/mailroom/mailroom/store"
)

// cmdAuthenticate: AUTHENTICATE mechanism [initial-response] (RFC 5804
// §2.1) with the mechanisms of package auth and its throttling. The
// server's challenges are base64 strings; the client answers with a
// string, "*" cancels. SCRAM's server-final message comes in the OK's
// SASL response code.
func cmdAuthenticate(c *conn, cmd *command) error {
	if len(cmd.args) < 1 || len(cmd.args) > 2 {
		return errBadArguments
	}
	if !c.plaintextOK() {
		return errPlaintext
	}
	if c.srv.sasl == nil {
		return nof(codeTryLater, "authentication is not configured")
	}
	mech := strings.ToUpper(cmd.args[0].val)
	var acct store.Account
	var checkErr error
	ctx, cancel := c.storeCtx()
	defer cancel()
	srv, err := auth.NewSASL(mech, c.srv.sasl(ctx, c.nc.RemoteAddr(), c.tlsState(), func(a store.Account, err error) {
		acct, checkErr = a, err
	}))
	if err != nil {
		return err
	}
	var resp []byte // nil: no initial response
	if len(cmd.args) == 2 {
		if resp, err = auth.DecodeResponse(cmd.args[1].val); err != nil {
			return err
		}
	}
	scram := strings.HasPrefix(mech, "SCRAM-")
	var final string // SCRAM server-final, for the OK
	for {
		challenge, done, err := srv.Next(resp)
		if checkErr != nil {
			return checkErr
		}
		if err != nil {
			if errors.Is(err, auth.ErrInvalidCredentials) || errors.Is(err, auth.ErrThrottled) {
				return err
			}
			return errAuthFailed
		}
		if done {
			break
		}
		if scram && strings.HasPrefix(string(challenge), "v=") {
			// The server-final message (RFC 5802 §5.1): the
			// exchange is over; it travels with the OK (RFC 5804
			// §2.1), and the mechanism takes the empty answer.
			final = base64.StdEncoding.EncodeToString(challenge)
			resp = []byte{}
			continue
		}
		c.writeLine(quoteString(base64.StdEncoding.EncodeToString(challenge)))
		if err := c.flush(); err != nil {
			return errConnGone
		}
		c.nc.SetReadDeadline(c.srv.cfg.Now().Add(c.srv.cfg.preAuthTimeout))
		args, err := c.r.readArgs(wireLimits{line: preAuthMaxLine, literal: preAuthMaxLiteral})
		if err != nil {
			var ne *noError
			if errors.As(err, &ne) {
				return errSASLProtocol
			}
			c.readFailed(err)
			return errConnGone
		}
		c.traceIn("<SASL response hidden>")
		if len(args) != 1 || args[0].atom {
			return errSASLProtocol
		}
		if args[0].val == "*" {
			return errAuthCancelled
		}
		if resp, err = auth.DecodeResponse(args[0].val); err != nil {
			return err
		}
	}
	c.acct = &acct
	c.log = c.log.With("account", acct.Email)
	c.log.Info("login", "mech", mech)
	if final != "" {
		c.ok("SASL "+quoteString(final), "Logged in")
	} else {
		c.ok("", "Logged in")
	}
	return nil
}
