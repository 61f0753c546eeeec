package managesieve

import (
	"errors"
	"fmt"

	"github.com/mailroom/mailroom/sieve"
	"github.com/mailroom/mailroom/store"
)

// checkName checks a script name (RFC 5804 §1.6) before any store call.
func checkName(name string) error {
	if err := store.CheckSieveName(name); err != nil {
		return nof("", "invalid script name")
	}
	return nil
}

// compileScript validates src with the sieve parser: the error names the
// line (RFC 5804 §2.6: a human-readable reason).
func (c *conn) compileScript(src string) error {
	if len(src) > c.lim.MaxScriptSize {
		return errLiteralTooBig
	}
	if _, err := sieve.Compile([]byte(src), c.srv.cfg.SieveLimits); err != nil {
		var se *sieve.Error
		if errors.As(err, &se) {
			return nof("", "%s", se.Error())
		}
		return nof("", "script does not compile: %v", err)
	}
	return nil
}

// checkSpace reports QUOTA/MAXSIZE or QUOTA/MAXSCRIPTS for storing size
// bytes as name (RFC 5804 §2.3, §2.6).
func (c *conn) checkSpace(name string, size int64) error {
	if size > int64(c.lim.MaxScriptSize) {
		return nof(codeQuotaMaxSize, "script of %d bytes is over the limit of %d", size, c.lim.MaxScriptSize)
	}
	ctx, cancel := c.storeCtx()
	defer cancel()
	list, err := c.srv.cfg.Store.SieveScripts(ctx, c.acct.ID)
	if err != nil {
		return err
	}
	for _, s := range list {
		if s.Name == name {
			return nil // a replacement
		}
	}
	if len(list) >= c.lim.MaxScripts {
		return nof(codeQuotaMaxScript, "%s", fmt.Sprintf("at most %d scripts allowed", c.lim.MaxScripts))
	}
	return nil
}
