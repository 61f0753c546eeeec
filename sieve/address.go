package sieve

import (
	"net/mail"
	"strings"
)

// parseAddresses extracts the addr-specs of a header value. Values that
// are not valid address lists fall back to the <...> parts, then to the
// trimmed value, so a malformed header can still be tested.
func parseAddresses(v string) []string {
	if list, err := mail.ParseAddressList(v); err == nil {
		out := make([]string, 0, len(list))
		for _, a := range list {
			out = append(out, a.Address)
		}
		return out
	}
	var out []string
	for _, part := range strings.Split(v, ",") {
		part = strings.TrimSpace(part)
		if i := strings.LastIndexByte(part, '<'); i >= 0 {
			if j := strings.IndexByte(part[i:], '>'); j > 0 {
				part = part[i+1 : i+j]
			}
		}
		if part != "" {
			out = append(out, part)
		}
	}
	return out
}

// addressPart returns the requested part of addr (RFC 5228 §2.7.4,
// RFC 5233); ok is false when the part does not exist (:detail without a
// separator).
func addressPart(addr, part, sep string) (string, bool) {
	local, domain := addr, ""
	if i := strings.LastIndexByte(addr, '@'); i >= 0 {
		local, domain = addr[:i], addr[i+1:]
	}
	switch part {
	case "localpart":
		return local, true
	case "domain":
		return domain, true
	case "user":
		if i := strings.Index(local, sep); i >= 0 {
			return local[:i], true
		}
		return local, true
	case "detail":
		if i := strings.Index(local, sep); i >= 0 {
			return local[i+len(sep):], true
		}
		return "", false
	}
	return addr, true
}
