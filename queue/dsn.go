package queue

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/mailroom/mailroom/store"
)

// buildDSN writes the delivery status notification for the failed
// recipients of it (RFC 3464: multipart/report, RFC 6522, with a
// human-readable part, message/delivery-status and the original headers as
// text/rfc822-headers). It is sent from the null sender, so it is never
// bounced itself.
func buildDSN(hostname string, now time.Time, it store.QueueItem, failed []store.QueueRecipient, original []byte) []byte {
	boundary := "dsn-" + rand.Text()
	date := now.Format(time.RFC1123Z)
	var b bytes.Buffer
	w := func(format string, args ...any) { fmt.Fprintf(&b, format+"\r\n", args...) }
	w("Return-Path: <>")
	w("From: Mail Delivery System <MAILER-DAEMON@%s>", hostname)
	w("To: <%s>", it.From)
	w("Subject: Undelivered Mail Returned to Sender")
	w("Date: %s", date)
	w("Message-ID: <%s@%s>", rand.Text(), hostname)
	w("Auto-Submitted: auto-replied")
	w("MIME-Version: 1.0")
	w("Content-Type: multipart/report; report-type=delivery-status;")
	w("\tboundary=\"%s\"", boundary)
	w("")
	w("This is a MIME-encapsulated message.")
	w("")
	w("--%s", boundary)
	w("Content-Type: text/plain; charset=utf-8")
	w("Content-Description: Notification")
	w("")
	w("This is the mail system at %s.", hostname)
	w("")
	w("Your message could not be delivered to one or more recipients.")
	w("It is attached below (headers only).")
	w("")
	for _, r := range failed {
		w("<%s>: %s", r.Addr, oneLine(r.LastError))
	}
	w("")
	w("--%s", boundary)
	w("Content-Type: message/delivery-status")
	w("Content-Description: Delivery report")
	w("")
	w("Reporting-MTA: dns; %s", hostname)
	w("X-Mailroom-Queue-ID: %d", it.ID)
	w("Arrival-Date: %s", it.Created.Format(time.RFC1123Z))
	for _, r := range failed {
		w("")
		w("Final-Recipient: rfc822; %s", r.Addr)
		w("Action: failed")
		w("Status: %s", statusOf(r.LastError))
		if code := replyCode(r.LastError); code != "" {
			w("Diagnostic-Code: smtp; %s", oneLine(code))
		} else {
			w("Diagnostic-Code: X-mailroom; %s", oneLine(r.LastError))
		}
		w("Last-Attempt-Date: %s", date)
	}
	w("")
	w("--%s", boundary)
	w("Content-Type: text/rfc822-headers")
	w("Content-Description: Undelivered message headers")
	w("")
	b.Write(headerOf(original))
	w("")
	w("--%s--", boundary)
	return b.Bytes()
}

var (
	replyRe    = regexp.MustCompile(`\b([245]\d\d)(?: ([245]\.\d{1,3}\.\d{1,3}))?( .*)`)
	enhancedRe = regexp.MustCompile(`\b([245]\.\d{1,3}\.\d{1,3})\b`)
)

// replyCode extracts "550 5.1.1 text" from a recorded reply.
func replyCode(s string) string {
	_, rest, ok := strings.Cut(s, " said: ")
	if !ok {
		return ""
	}
	if m := replyRe.FindString(rest); m != "" {
		return m
	}
	return ""
}

// statusOf is the RFC 3463 status for a failure: the server's enhanced
// code when it gave one, else 5.0.0 (or 4.4.7, delivery time expired).
func statusOf(s string) string {
	if strings.HasPrefix(s, "gave up after") {
		return "4.4.7"
	}
	if m := enhancedRe.FindString(s); m != "" && m[0] == '5' {
		return m
	}
	return "5.0.0"
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// headerOf returns the header section of raw, with its final CRLF.
func headerOf(raw []byte) []byte {
	if i := bytes.Index(raw, []byte("\r\n\r\n")); i >= 0 {
		return raw[:i+2]
	}
	if len(raw) > 0 && !bytes.HasSuffix(raw, []byte("\r\n")) {
		return append(append([]byte{}, raw...), '\r', '\n')
	}
	return raw
}
