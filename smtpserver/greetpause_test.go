package smtpserver

import (
	"bufio"
	"errors"
	"net"
	"os"
	"strings"
	"testing"
	"time"
)

// With GreetPause, a client that speaks before the greeting gets 554
// 5.5.1 and is disconnected; one that waits is greeted after the pause
// and served. The submission listener never pauses.
func TestGreetPauseEarlyTalker(t *testing.T) {
	t.Parallel()
	const pause = 300 * time.Millisecond
	h := newHarness(t, ModeMX, func(c *Config) { c.GreetPause = pause })

	nc, err := net.Dial("tcp", h.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := nc.Write([]byte("EHLO spam.test\r\n")); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(nc)
	line, err := r.ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	rep := parseReply(t, []string{strings.TrimRight(line, "\r\n")})
	if rep.code != 554 || rep.enh != "5.5.1" {
		t.Fatalf("early talker got %q", line)
	}
	// Closed: EOF at once; still open: the deadline.
	if extra, err := r.ReadString('\n'); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("connection still open, read %q (%v)", extra, err)
	}

	start := time.Now()
	c := h.dial()
	if d := time.Since(start); d < pause {
		t.Fatalf("greeted after %v, before the pause of %v", d, pause)
	}
	c.cmd("EHLO client.test", "250 ")
	c.sendMail("s@sender.test", []string{"alice@example.com"}, milterMessage)

	sub := newHarness(t, ModeSubmission, func(c *Config) { c.GreetPause = time.Hour })
	sub.dial().cmd("EHLO client.test", "250 ")
}
