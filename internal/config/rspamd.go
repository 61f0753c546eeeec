package config

import (
	"errors"
	"log/slog"
	"net/url"
	"time"

	"github.com/mailroom/mailroom/spamlearn"
)

// Rspamd is the [rspamd] table: Rspamd's controller, which learns spam
// and ham from what users file in and out of Junk (package spamlearn).
// Off while Controller is empty (the default).
type Rspamd struct {
	// Controller is the controller worker's URL
	// ("http://127.0.0.1:11334").
	Controller string `toml:"controller"`
	// Password is sent in the Password header; learning needs the
	// controller's enable_password.
	Password string `toml:"password"`
	// LearnQueue bounds the messages waiting for submission (beyond it
	// they are dropped, logged and counted); default 1000.
	LearnQueue int `toml:"learn_queue"`
	// LearnAttempts bounds the tries of one submission; default 3.
	LearnAttempts int `toml:"learn_attempts"`
	// LearnTimeout bounds one request to the controller; default 30s.
	LearnTimeout Duration `toml:"learn_timeout"`
	// LearnMaxMessageBytes: larger messages are not submitted; default
	// 20 MiB (Rspamd's max_message is 50 MiB).
	LearnMaxMessageBytes int64 `toml:"learn_max_message_bytes"`
}

func (r *Rspamd) validate() []error {
	var errs []error
	if r.Controller != "" {
		u, err := url.Parse(r.Controller)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, errors.New("rspamd.controller must be an http:// or https:// URL"))
		}
	}
	if r.LearnQueue < 0 || r.LearnQueue > 1_000_000 {
		errs = append(errs, errors.New("rspamd.learn_queue must be between 0 (default) and 1000000"))
	}
	if r.LearnAttempts < 0 || r.LearnAttempts > 10 {
		errs = append(errs, errors.New("rspamd.learn_attempts must be between 0 (default) and 10"))
	}
	if d := r.LearnTimeout.Duration; d < 0 || d > 10*time.Minute {
		errs = append(errs, errors.New("rspamd.learn_timeout must be between 0 (default) and 10m"))
	}
	if r.LearnMaxMessageBytes < 0 {
		errs = append(errs, errors.New("rspamd.learn_max_message_bytes must not be negative"))
	}
	return errs
}

// Learner builds the spam learner over st; nil when no controller is
// configured.
func (r *Rspamd) Learner(st spamlearn.Store, m spamlearn.Metrics, log *slog.Logger) (*spamlearn.Learner, error) {
	if r.Controller == "" {
		return nil, nil
	}
	return spamlearn.New(spamlearn.Config{
		Controller: r.Controller, Password: r.Password, Store: st, Metrics: m, Logger: log,
		QueueSize: r.LearnQueue, MaxAttempts: r.LearnAttempts, Timeout: r.LearnTimeout.Duration,
		MaxMessageBytes: r.LearnMaxMessageBytes,
	})
}
