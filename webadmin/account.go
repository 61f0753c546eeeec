package webadmin

import (
	"errors"
	"net/http"

	"github.com/mailroom/mailroom/auth"
	"github.com/mailroom/mailroom/store"
)

func errorsIsNotFound(err error) bool { return errors.Is(err, store.ErrNotFound) }

type accountHomeData struct {
	Bytes, Messages       int64
	MaxBytes, MaxMessages int64
	Percent               int
}

// accountHome shows a user their usage against their quota.
func (s *Server) accountHome(w http.ResponseWriter, r *http.Request, x *session) {
	acct, err := s.cfg.Store.AccountByEmail(r.Context(), x.email)
	if errorsIsNotFound(err) {
		s.sessions.delete(x.token)
		http.Redirect(w, r, accountArea.prefix+"login", http.StatusSeeOther)
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	u, err := s.cfg.Store.AccountUsage(r.Context(), acct.ID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d := accountHomeData{Bytes: u.Bytes, Messages: u.Messages}
	if s.cfg.Quota != nil {
		d.MaxBytes, d.MaxMessages = s.cfg.Quota.Limits(acct.Email)
		if d.MaxBytes > 0 {
			d.Percent = int(min(100, u.Bytes*100/d.MaxBytes))
		}
	}
	s.show(w, accountArea, x, "account", "Your account", d)
}

// ownPassword changes the signed-in user's password; the current one
// is checked again (through the Authenticator, so throttled).
func (s *Server) ownPassword(w http.ResponseWriter, r *http.Request, x *session) {
	const to = "/account/"
	cur, pw, again := r.PostForm.Get("current"), r.PostForm.Get("password"), r.PostForm.Get("again")
	var err error
	switch {
	case pw != again:
		err = formError("The new passwords do not match.")
	default:
		err = newPassword(pw)
	}
	if err == nil && len(cur) <= maxPasswordBytes {
		_, aerr := s.cfg.Auth.Authenticate(r.Context(), x.email, cur, clientAddr(r))
		switch {
		case errors.Is(aerr, auth.ErrInvalidCredentials):
			err = formError("The current password is wrong.")
		case errors.Is(aerr, auth.ErrThrottled):
			err = formError("Too many failed attempts; try again later.")
		default:
			err = aerr
		}
	} else if err == nil {
		err = formError("The current password is wrong.")
	}
	if err == nil {
		var hash string
		if hash, err = s.cfg.HashPassword(pw); err == nil {
			err = s.cfg.Store.SetPassword(r.Context(), x.email, hash)
		}
	}
	if err == nil {
		s.log.Info("webadmin: password changed by its owner", "account", x.email)
	}
	s.done(w, r, x, to, "Your password was changed.", err)
}
