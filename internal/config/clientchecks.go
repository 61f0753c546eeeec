package config

import (
	"fmt"

	"github.com/mailroom/mailroom/smtpserver"
)

// ClientChecks is the [client_checks] table: connection-time checks of
// unauthenticated MX clients, at their first MAIL. Each is "off"
// (default), "score" (a header field for milters and Sieve) or "reject"
// (Postfix's replies).
type ClientChecks struct {
	// ReverseDNS: the client IP must have a forward-confirmed PTR name
	// (Postfix's reject_unknown_client_hostname: 550 5.7.25, 450 4.7.25
	// when DNS fails temporarily).
	ReverseDNS string `toml:"reverse_dns"`
	// HELO: the HELO/EHLO name must be a valid fully-qualified domain
	// name or an address literal (501 / 504 5.5.2).
	HELO string `toml:"helo"`
}

func (c *ClientChecks) validate() []error {
	var errs []error
	for key, v := range map[string]string{"reverse_dns": c.ReverseDNS, "helo": c.HELO} {
		switch v {
		case "", "off", "score", "reject":
		default:
			errs = append(errs, fmt.Errorf("client_checks.%s %q: want off, score or reject", key, v))
		}
	}
	return errs
}

// SMTP is the smtpserver setting (lookups through the server's
// resolvers).
func (c ClientChecks) SMTP() smtpserver.ClientChecks {
	mode := func(v string) string {
		if v == "off" {
			return smtpserver.CheckOff
		}
		return v
	}
	return smtpserver.ClientChecks{ReverseDNS: mode(c.ReverseDNS), HELO: mode(c.HELO)}
}
