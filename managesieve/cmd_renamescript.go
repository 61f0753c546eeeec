package managesieve

import (
	"errors"

	"github.com/mailroom/mailroom/store"
)

var errAlreadyExists = &noError{code: codeAlreadyExists, text: "a script by the new name already exists"}

// cmdRenameScript: RENAMESCRIPT old new (RFC 5804 §2.11.1): the active
// script stays active under its new name; a new name that exists, the
// old one included, is ALREADYEXISTS (as Pigeonhole answers). The store
// renames in one transaction, so a failure leaves the old name alone.
func cmdRenameScript(c *conn, cmd *command) error {
	args, err := stringArgs(cmd, 2)
	if err != nil {
		return err
	}
	oldName, newName := args[0], args[1]
	if err := checkName(oldName); err != nil {
		return errNoSuchScript
	}
	if err := checkName(newName); err != nil {
		return err
	}
	ctx, cancel := c.storeCtx()
	defer cancel()
	if err := c.srv.cfg.Store.RenameSieveScript(ctx, c.acct.ID, oldName, newName); err != nil {
		if errors.Is(err, store.ErrExists) {
			return errAlreadyExists
		}
		return err
	}
	c.log.Info("script renamed", "script", oldName, "to", newName)
	c.ok("", "Renamescript completed")
	return nil
}
