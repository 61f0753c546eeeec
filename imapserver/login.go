package imapserver

import (
	"strings"

	"github.com/mailroom/mailroom/store"
)

// cmdLogin: LOGIN userid password (RFC 9051 §6.2.3).
func cmdLogin(c *conn, cmd *command) error {
	if err := c.dec.SP(); err != nil {
		return err
	}
	user, err := c.dec.AString()
	if err != nil {
		return err
	}
	if err := c.dec.SP(); err != nil {
		return err
	}
	pass, err := c.dec.AString()
	if err != nil {
		return err
	}
	if err := c.endArgs(); err != nil {
		return err
	}
	if !c.plaintextAllowed() {
		return nof(codePrivacyRequired, "LOGIN is disabled without TLS")
	}
	acct, err := c.srv.cfg.Auth.Authenticate(c.ctx, user, pass, c.nc.RemoteAddr())
	if err != nil {
		return err
	}
	c.loggedIn(acct)
	return nil
}

// loggedIn moves the connection to the authenticated state, subscribes to
// the account's change feed and puts the capabilities in the tagged OK.
func (c *conn) loggedIn(acct store.Account) {
	c.acct = acct
	c.state = stateAuth
	c.setLimits()
	c.watch(acct.ID)
	c.log = c.log.With("account", acct.Email)
	c.log.Info("imap login")
	c.okCode = "CAPABILITY " + c.capabilities()
}

// cmdID: ID (RFC 2971). The client's parameters are read and ignored.
func cmdID(c *conn, cmd *command) error {
	if err := c.dec.SP(); err != nil {
		return err
	}
	if c.dec.PeekIs('(') {
		if err := c.dec.List(func() error { _, _, err := c.dec.NString(); return err }); err != nil {
			return err
		}
	} else if _, isNil, err := c.dec.NString(); err != nil || !isNil {
		return badf("", "expected parameter list or NIL")
	}
	if err := c.endArgs(); err != nil {
		return err
	}
	c.untagged().Raw(`ID ("name" "mailroom")`).CRLF()
	return nil
}

// cmdEnable: ENABLE (RFC 5161, RFC 9051 §6.3.1).
func cmdEnable(c *conn, cmd *command) error {
	var names []string
	for !c.dec.AtEOL() {
		if err := c.dec.SP(); err != nil {
			return err
		}
		a, err := c.dec.Atom()
		if err != nil {
			return err
		}
		names = append(names, a)
	}
	if err := c.endArgs(); err != nil {
		return err
	}
	if len(names) == 0 {
		return badf("", "ENABLE needs capabilities")
	}
	var enabled []string
	for _, n := range names {
		switch strings.ToUpper(n) {
		case "IMAP4REV2":
			if !c.rev2 {
				c.rev2 = true
				enabled = append(enabled, "IMAP4rev2")
			}
		case "CONDSTORE":
			if !c.condstore {
				c.condstore = true
				enabled = append(enabled, "CONDSTORE")
			}
		case "QRESYNC":
			if !c.qresync {
				c.qresync, c.condstore = true, true
				enabled = append(enabled, "QRESYNC")
			}
		}
	}
	c.untagged().Raw("ENABLED")
	for _, e := range enabled {
		c.enc.SP().Raw(e)
	}
	c.enc.CRLF()
	return nil
}
