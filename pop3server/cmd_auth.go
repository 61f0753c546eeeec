package pop3server

import (
	"encoding/base64"
	"errors"

	"github.com/mailroom/mailroom/auth"
	"github.com/mailroom/mailroom/store"
)

var errSASLProtocol = &replyError{code: codeAuth, text: "malformed authentication exchange"}

// cmdAuth handles AUTH mechanism [initial-response] (RFC 5034 §4). Without
// an argument it lists the mechanisms, as many clients expect.
func (c *conn) cmdAuth(cmd command) error {
	if !c.plaintextOK() {
		return errPlaintextDenied
	}
	if len(cmd.args) == 0 {
		c.ok("SASL mechanisms follow")
		for _, m := range c.srv.cfg.Auth.MechanismsFor(c.tlsState()) {
			c.writeLine(m)
		}
		c.writeLine(".")
		return nil
	}
	if len(cmd.args) > 2 {
		return errBadArguments
	}
	var acct store.Account
	var checkErr error
	ctx, cancel := c.storeCtx()
	defer cancel()
	srv, err := auth.NewSASL(cmd.args[0], c.saslConfig(auth.WithMechanism(ctx, cmd.args[0]), func(a store.Account, err error) {
		acct, checkErr = a, err
	}))
	if err != nil {
		return err
	}

	var resp []byte // nil: no initial response
	if len(cmd.args) == 2 {
		if resp, err = decodeSASL(cmd.args[1]); err != nil {
			return err
		}
	}
	for {
		challenge, done, err := srv.Next(resp)
		if checkErr != nil {
			return checkErr
		}
		if err != nil {
			if errors.Is(err, auth.ErrInvalidCredentials) {
				return err
			}
			return errSASLProtocol
		}
		if done {
			break
		}
		c.writeLine("+ " + base64.StdEncoding.EncodeToString(challenge))
		if err := c.flush(); err != nil {
			return errConnGone
		}
		c.nc.SetReadDeadline(c.srv.cfg.Now().Add(c.idle))
		line, err := c.readLine(maxSASLLineLength)
		if err != nil {
			if errors.Is(err, errLineTooLong) {
				return errSASLProtocol
			}
			c.readFailed(err)
			c.done = true
			return errConnGone
		}
		c.traceIn("<SASL response hidden>")
		if line == "*" {
			return errAuthCancelled
		}
		if resp, err = decodeSASL(line); err != nil {
			return err
		}
	}
	return c.login(acct)
}

// decodeSASL decodes a base64 client response; "=" is an empty initial
// response (RFC 5034 §4), and an empty continuation line is empty too.
// Invalid base64 is auth.ErrMalformedResponse.
func decodeSASL(s string) ([]byte, error) {
	return auth.DecodeResponse(s)
}
