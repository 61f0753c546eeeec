package imapserver

import (
	"bufio"
	"encoding/base64"
	"strings"

	"github.com/mailroom/mailroom/auth"
	"github.com/mailroom/mailroom/store"
)

// cmdAuthenticate: AUTHENTICATE mech [initial-response] (RFC 9051 §6.2.2,
// SASL-IR RFC 4959) for PLAIN and LOGIN.
func cmdAuthenticate(c *conn, cmd *command) error {
	if err := c.dec.SP(); err != nil {
		return err
	}
	mech, err := c.dec.Atom()
	if err != nil {
		return err
	}
	var ir []byte
	hasIR := false
	if !c.dec.AtEOL() {
		if err := c.dec.SP(); err != nil {
			return err
		}
		s, err := c.dec.Atom()
		if err != nil {
			return err
		}
		hasIR = true
		if ir, err = auth.DecodeResponse(s); err != nil {
			return err
		}
	}
	if err := c.endArgs(); err != nil {
		return err
	}
	if !c.plaintextAllowed() {
		return nof(codePrivacyRequired, "authentication is disabled without TLS")
	}
	var acct store.Account
	var checkErr error
	srv, err := auth.NewSASL(mech, c.srv.cfg.Auth.SASLConfig(auth.WithMechanism(c.ctx, mech), c.nc.RemoteAddr(), c.tlsState(), func(a store.Account, err error) {
		acct, checkErr = a, err
	}))
	if err != nil {
		return nof(codeCannot, "unsupported mechanism")
	}
	resp := ir
	if !hasIR {
		resp = nil
	}
	for {
		challenge, done, err := srv.Next(resp)
		if err != nil {
			if checkErr != nil {
				return checkErr
			}
			return nof(codeAuthenticationFailed, "authentication failed")
		}
		if done {
			break
		}
		c.enc.Raw("+ ").Raw(base64.StdEncoding.EncodeToString(challenge)).CRLF()
		if err := c.flush(); err != nil {
			return err
		}
		line, err := c.readLine()
		if err != nil {
			return err
		}
		if line == "*" {
			return badf("", "authentication cancelled")
		}
		// Some clients (go-imap) send an empty response as "=", as in
		// SASL-IR (RFC 4959 §3); DecodeResponse accepts it.
		if resp, err = auth.DecodeResponse(line); err != nil {
			return err
		}
	}
	c.loggedIn(acct)
	return nil
}

// readLine reads one raw line (a SASL response), bounded by the decoder's
// line length limit, which before login is preAuthMaxCommand.
func (c *conn) readLine() (string, error) {
	var b []byte
	tooLong := false
	for {
		chunk, err := c.br.ReadSlice('\n')
		if !tooLong {
			b = append(b, chunk...)
		}
		if len(b) > c.dec.MaxLineLength {
			tooLong, b = true, nil
		}
		if err == nil {
			break
		}
		if err != bufio.ErrBufferFull {
			return "", err
		}
	}
	if tooLong {
		return "", badf(codeTooBig, "line too long")
	}
	return strings.TrimRight(string(b), "\r\n"), nil
}
