package managesieve

import (
	"strconv"
	"strings"

	"github.com/mailroom/mailroom/sieve"
)

// implementation is the IMPLEMENTATION capability's value.
const implementation = "mailroom"

// writeCapabilities writes the capability lines (RFC 5804 §1.7) of the
// session's state: SASL and STARTTLS only before authentication (SASL
// only where passwords may be sent), OWNER after it. NOTIFY is not
// listed: the enotify extension is not implemented.
func (c *conn) writeCapabilities() {
	capLine := func(name, val string) {
		c.writeLine(quoteString(name) + " " + quoteString(val))
	}
	capLine("IMPLEMENTATION", implementation)
	if c.acct == nil {
		mechs := ""
		if c.plaintextOK() {
			mechs = strings.Join(c.srv.cfg.Auth.MechanismsFor(c.tlsState()), " ")
		}
		capLine("SASL", mechs)
	} else {
		capLine("SASL", "")
	}
	capLine("SIEVE", strings.Join(sieve.Capabilities(), " "))
	if c.acct == nil && c.srv.cfg.TLSConfig != nil && !c.isTLS() {
		c.writeLine(quoteString("STARTTLS"))
	}
	lim := c.srv.cfg.SieveLimits
	if lim.MaxRedirects <= 0 {
		lim.MaxRedirects = sieve.DefaultLimits().MaxRedirects
	}
	capLine("MAXREDIRECTS", strconv.Itoa(lim.MaxRedirects))
	if c.acct != nil {
		capLine("OWNER", c.acct.Email)
	}
	c.writeLine(quoteString("UNAUTHENTICATE"))
	capLine("VERSION", "1.0")
}

// cmdCapability: CAPABILITY (RFC 5804 §2.4).
func cmdCapability(c *conn, cmd *command) error {
	if len(cmd.args) != 0 {
		return errBadArguments
	}
	c.writeCapabilities()
	c.ok("", "Capability completed")
	return nil
}
