package imapserver

import (
	"strconv"
	"strings"
)

// Capabilities advertised once authenticated (RFC 9051 §7.2.2 and the
// extensions' RFCs). Only what is implemented and tested is listed.
var authCaps = []string{
	"IMAP4rev1", "IMAP4rev2", "IDLE", "NAMESPACE", "UIDPLUS", "MOVE", "LITERAL+",
	"ENABLE", "ID", "UNSELECT", "SPECIAL-USE", "CREATE-SPECIAL-USE", "CHILDREN",
	"LIST-EXTENDED", "LIST-STATUS", "STATUS=SIZE", "ESEARCH", "SEARCHRES",
	"CONDSTORE", "QRESYNC", "BINARY", "MULTIAPPEND", "SORT", "SORT=DISPLAY", "THREAD=ORDEREDSUBJECT", "THREAD=REFERENCES", "WITHIN",
	"QUOTA", "QUOTA=RES-STORAGE", "QUOTA=RES-MESSAGE", // quota.go
}

// capabilities builds the capability list of the greeting, CAPABILITY
// and the tagged OK after login alike, so they always agree.
func (c *conn) capabilities() string {
	caps := append([]string(nil), authCaps...)
	caps = append(caps, extCaps...)
	caps = append(caps, aclCaps...)
	if c.state != stateNotAuth {
		caps = append(caps, loggedInCaps...)
	}
	caps = append(caps, "APPENDLIMIT="+strconv.FormatInt(c.lim.MaxLiteralSize, 10))
	if c.state == stateNotAuth {
		if c.srv.cfg.TLSConfig != nil && !c.isTLS() {
			caps = append(caps, "STARTTLS")
		}
		caps = append(caps, "SASL-IR")
		if c.plaintextAllowed() {
			for _, m := range c.srv.cfg.Auth.MechanismsFor(c.tlsState()) {
				caps = append(caps, "AUTH="+m)
			}
		} else {
			caps = append(caps, "LOGINDISABLED")
		}
	}
	return strings.Join(caps, " ")
}

// plaintextAllowed reports whether passwords may be sent: over TLS, or
// where Config.AllowPlaintextAuth allows it.
func (c *conn) plaintextAllowed() bool {
	return c.isTLS() || c.srv.cfg.AllowPlaintextAuth(c.nc.RemoteAddr())
}

// cmdCapability: CAPABILITY (RFC 9051 §6.1.1).
func cmdCapability(c *conn, cmd *command) error {
	if err := c.endArgs(); err != nil {
		return err
	}
	c.untagged().Raw("CAPABILITY ").Raw(c.capabilities()).CRLF()
	return nil
}

// cmdNoop: NOOP (RFC 9051 §6.1.2); updates are sent by the command loop.
func cmdNoop(c *conn, cmd *command) error { return c.endArgs() }

// cmdLogout: LOGOUT (RFC 9051 §6.1.3).
func cmdLogout(c *conn, cmd *command) error {
	if err := c.endArgs(); err != nil {
		return err
	}
	c.untagged().Raw("BYE logging out\r\n")
	c.state = stateLogout
	c.sel = nil
	return nil
}
