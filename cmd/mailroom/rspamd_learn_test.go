package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/mailroom/mailroom/internal/rspamdtest"
)

// rspamdLearnConfig runs Debian's Rspamd with only a controller worker
// on 127.0.0.1:%d (password and enable_password %q) and a Bayes
// classifier on SQLite statfiles in the test's directory, so no Redis
// is needed; min_learns/min_tokens 1 and a learn_condition that always
// allows, so one message is learned; the learn cache (which refuses a
// message learned before) in the test's directory too, not Debian's
// /var/lib/rspamd. No DNS (a closed loopback port)
// and a small TLD list keep the start fast.
const rspamdLearnConfig = `
.include "$CONFDIR/common.conf"
options {
    pidfile = "$RUNDIR/rspamd.pid";
    url_tld = "$DBDIR/tld.dat";
    dns { nameserver = ["127.0.0.1:1"]; timeout = 0.5s; retransmits = 1; }
    filters = "regexp";
    cache_file = "$DBDIR/symbols.cache";
}
logging { type = "file"; filename = "$LOGDIR/rspamd.log"; level = "info"; }
worker "controller" {
    bind_socket = "127.0.0.1:%d";
    count = 1;
    password = "%s";
    enable_password = "%s";
    secure_ip = [];
}
classifier "bayes" {
    tokenizer { name = "osb"; }
    backend = "sqlite3";
    min_tokens = 1;
    min_learns = 1;
    statfile { symbol = "BAYES_HAM"; path = "$DBDIR/bayes.ham.sqlite"; spam = false; }
    statfile { symbol = "BAYES_SPAM"; path = "$DBDIR/bayes.spam.sqlite"; spam = true; }
    learn_condition = "return function(task, is_spam, is_unlearn) return true end";
    cache { type = "sqlite3"; file = "$DBDIR/learn_cache.sqlite"; }
}
`

// startRspamdController starts rspamd with rspamdLearnConfig and waits
// for its controller's /ping; it returns the controller's base URL.
func startRspamdController(t *testing.T, password string) string {
	hc := &http.Client{Timeout: 2 * time.Second}
	r := rspamdtest.Start(t, func(port int) string { return fmt.Sprintf(rspamdLearnConfig, port, password, password) }, nil,
		func(r *rspamdtest.Rspamd) bool {
			resp, err := hc.Get(fmt.Sprintf("http://127.0.0.1:%d/ping", r.Port))
			if err != nil {
				return false
			}
			resp.Body.Close()
			return resp.StatusCode == http.StatusOK
		}, time.Minute)
	return fmt.Sprintf("http://127.0.0.1:%d", r.Port)
}

// rspamdStat is the part of the controller's /stat the test reads.
type rspamdStat struct {
	Learned   int `json:"learned"`
	Statfiles []struct {
		Symbol   string `json:"symbol"`
		Type     string `json:"type"`
		Revision int    `json:"revision"`
	} `json:"statfiles"`
}

// revisions returns each Bayes statfile's revision (its learn count).
func (s rspamdStat) revisions() map[string]int {
	out := map[string]int{}
	for _, f := range s.Statfiles {
		out[f.Symbol] += f.Revision
	}
	return out
}

func getRspamdStat(t *testing.T, base, password string) rspamdStat {
	t.Helper()
	req, err := http.NewRequest("GET", base+"/stat", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Password", password)
	r, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Body.Close()
	if r.StatusCode != http.StatusOK {
		t.Fatalf("/stat: %s", r.Status)
	}
	var st rspamdStat
	if err := json.NewDecoder(r.Body).Decode(&st); err != nil {
		t.Fatalf("/stat: %v", err)
	}
	return st
}

// TestServeSpamLearningRealRspamd: against Debian's real Rspamd
// controller (password set, Bayes on SQLite statfiles), a message moved
// into Junk over IMAP is learned as spam and one moved out of Junk into
// INBOX as ham: the controller's /stat counts both learns and each
// class's statfile revision.
func TestServeSpamLearningRealRspamd(t *testing.T) {
	t.Parallel()
	const password = "q1w2e3"
	ctrl := startRspamdController(t, password)
	if st := getRspamdStat(t, ctrl, password); st.Learned != 0 {
		t.Fatalf("fresh rspamd has learned %d", st.Learned)
	}

	dir := t.TempDir()
	cfg := `data = "d"
hostname = "mx.example.test"
smtp = "127.0.0.1:0"
submission = ""
pop3 = ""
imap = "127.0.0.1:0"
smtps = ""
pop3s = ""
imaps = ""
managesieve = ""
[rspamd]
controller = "` + ctrl + `"
password = "` + password + `"
`
	if err := os.WriteFile(filepath.Join(dir, "m.toml"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := runCLI(t, dir, "pw\n", "user", "add", "dana@example.test", "--password-stdin", "--config", "m.toml"); err != nil {
		t.Fatal(err)
	}
	p := startServe(t, dir, "--config", "m.toml")
	spam := "From: x@remote.test\r\nTo: dana@example.test\r\nSubject: cheap pills\r\nMessage-ID: <spam1@remote.test>\r\n\r\n" +
		"Buy cheap pills now, the best offer of pharmacy products at the lowest price online today, limited offer\r\n"
	if err := sendMailNoTLS(p.addr(t, "smtp"), "x@remote.test", []string{"dana@example.test"}, []byte(spam)); err != nil {
		t.Fatal(err)
	}
	c, err := imapclient.DialInsecure(p.addr(t, "imap"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login("dana@example.test", "pw").Wait(); err != nil {
		t.Fatal(err)
	}
	ham := "From: friend@remote.test\r\nTo: dana@example.test\r\nSubject: lunch\r\nMessage-ID: <ham1@remote.test>\r\n\r\n" +
		"Shall we meet for lunch on Thursday near the station, the new noodle place had good reviews\r\n"
	app := c.Append("Junk", int64(len(ham)), nil)
	if _, err := app.Write([]byte(ham)); err != nil {
		t.Fatal(err)
	}
	if err := app.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := app.Wait(); err != nil {
		t.Fatal(err)
	}

	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Move(imap.UIDSetNum(1), "Junk").Wait(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Select("Junk", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	// UID 1 in Junk is the appended ham; the moved spam got UID 2.
	if _, err := c.Move(imap.UIDSetNum(1), "INBOX").Wait(); err != nil {
		t.Fatal(err)
	}

	deadline := time.Now().Add(30 * time.Second)
	for {
		st := getRspamdStat(t, ctrl, password)
		rev := st.revisions()
		if st.Learned == 2 && rev["BAYES_SPAM"] == 1 && rev["BAYES_HAM"] == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("rspamd learned %d, statfile revisions %v; want 2 learns, BAYES_SPAM 1 and BAYES_HAM 1; log:\n%s", st.Learned, rev, p.log())
		}
		time.Sleep(100 * time.Millisecond)
	}
	deadline = time.Now().Add(30 * time.Second)
	for {
		m := scrapeMetrics(t, http.DefaultClient, "http://"+p.addr(t, "http")+"/metrics")
		if m["mailroom_spam_learn_total{kind=spam,outcome=learned}"] == 1 && m["mailroom_spam_learn_total{kind=ham,outcome=learned}"] == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("mailroom_spam_learn_total spam %v ham %v, want 1 learned each",
				m["mailroom_spam_learn_total{kind=spam,outcome=learned}"], m["mailroom_spam_learn_total{kind=ham,outcome=learned}"])
		}
		time.Sleep(50 * time.Millisecond)
	}
}
