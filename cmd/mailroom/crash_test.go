package main

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"regexp"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mailroom/mailroom/store"
	"github.com/mailroom/mailroom/store/sqlite"
)

// TestCrashLosesNoAcknowledgedMessage kills the server with SIGKILL in the
// middle of a burst of deliveries and checks that every message that got a
// 250 reply is in the store after restart.
func TestCrashLosesNoAcknowledgedMessage(t *testing.T) {
	dir := t.TempDir()
	if _, err := runCLI(t, dir, "pw\n", "user", "add", "crash@example.test", "--password-stdin", "--data", "d"); err != nil {
		t.Fatal(err)
	}
	p := startServe(t, dir, append([]string{"--data", "d", "--smtp", "127.0.0.1:0", "--submission", "", "--pop3", "", "--imap", ""}, noTLSPorts...)...)
	addr := p.addr(t, "smtp")

	var (
		mu    sync.Mutex
		acked []string
		wg    sync.WaitGroup
	)
	const senders = 4
	stop := make(chan struct{})
	for i := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				token := fmt.Sprintf("crash-token-%d-%d", i, n)
				msg := "From: s@remote.test\r\nTo: crash@example.test\r\nSubject: " + token + "\r\n\r\nbody " + token + "\r\n"
				if err := sendMailNoTLS(addr, "s@remote.test", []string{"crash@example.test"}, []byte(msg)); err != nil {
					return // the server died mid-transaction: not acknowledged
				}
				mu.Lock()
				acked = append(acked, token)
				mu.Unlock()
			}
		}()
	}
	// Let the burst run, then kill without warning.
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		mu.Lock()
		n := len(acked)
		mu.Unlock()
		if n >= 40 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-p.done
	close(stop)
	wg.Wait()
	if len(acked) == 0 {
		t.Fatalf("no message was acknowledged before the kill; log:\n%s", p.log())
	}

	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "d", "mailroom.db"), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	acct, err := st.AccountByEmail(ctx, "crash@example.test")
	if err != nil {
		t.Fatal(err)
	}
	inbox, err := st.MailboxByName(ctx, acct.ID, store.Inbox)
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	tokenRE := regexp.MustCompile(`Subject: (crash-token-\d+-\d+)`)
	err = st.ListMessages(ctx, inbox.Ref(), nil, func(m store.MessageMeta) error {
		raw, err := st.MessageBody(ctx, inbox.Ref(), m.ID)
		if err != nil {
			return err
		}
		if sm := tokenRE.FindSubmatch(raw); sm != nil {
			have[string(sm[1])] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, tok := range acked {
		if !have[tok] {
			t.Errorf("message %s was acknowledged with 250 but is gone after the crash", tok)
		}
	}
	t.Logf("%d acknowledged, %d stored", len(acked), len(have))
}
