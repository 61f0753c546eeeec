package pop3server

import (
	"strings"
)

// cmdCapa handles CAPA (RFC 2449 §5). USER and SASL are listed only in the
// AUTHORIZATION state and only where passwords may be sent (over TLS or
// where plaintext is allowed); STLS only before TLS (RFC 2595 §4).
func (c *conn) cmdCapa(cmd command) error {
	if len(cmd.args) != 0 {
		return errBadArguments
	}
	c.ok("Capability list follows")
	c.writeLine(capTop)
	c.writeLine(capUIDL)
	if c.state == stateAuthorization && c.srv.cfg.TLSConfig != nil && !c.isTLS() {
		c.writeLine(capSTLS)
	}
	if c.state == stateAuthorization && c.plaintextOK() {
		c.writeLine(capUser)
		c.writeLine(capSASL + " " + strings.Join(c.srv.cfg.Auth.MechanismsFor(c.tlsState()), " "))
	}
	c.writeLine(capRespCodes)
	c.writeLine(capPipelining)
	c.writeLine(capAuthRespCode)
	c.writeLine(capImplementation + " " + implementation)
	c.writeLine(".")
	return nil
}
