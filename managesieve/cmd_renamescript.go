package managesieve

import (
	"errors"

	"github.com/mailroom/mailroom/store"
)

var errAlreadyExists = &noError{code: codeAlreadyExists, text: "a script by the new name already exists"}

// cmdRenameScript: RENAMESCRIPT old new (RFC 5804 §2.11.1): the active
// script stays active under its new name; a new name that exists, the
// old one included, is ALREADYEXISTS. The store has no rename: the
// script is stored under the new name (activated if the old one was),
// then the old one deleted. If that last step fails both names exist;
// no script is lost.
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
	st := c.srv.cfg.Store
	old, err := st.SieveScript(ctx, c.acct.ID, oldName)
	if err != nil {
		return err
	}
	if oldName == newName {
		return errAlreadyExists // as Pigeonhole answers
	}
	if _, err := st.SieveScript(ctx, c.acct.ID, newName); err == nil {
		return errAlreadyExists
	} else if !isNotFound(err) {
		return err
	}
	if _, err := st.PutSieveScript(ctx, c.acct.ID, newName, old.Source); err != nil {
		return err
	}
	if old.Active {
		if err := st.ActivateSieveScript(ctx, c.acct.ID, newName); err != nil {
			return err
		}
	}
	if err := st.DeleteSieveScript(ctx, c.acct.ID, oldName); err != nil {
		return err
	}
	c.log.Info("script renamed", "script", oldName, "to", newName)
	c.ok("", "Renamescript completed")
	return nil
}

func isNotFound(err error) bool { return errors.Is(err, store.ErrNotFound) }
