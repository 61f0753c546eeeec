package imapserver

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mailroom/mailroom/imapserver/imapmsg"
	"github.com/mailroom/mailroom/internal/authtest"
)

// TestConcurrencyModel: 10 clients on 5 accounts (two on each INBOX, one
// with QRESYNC, one with CONDSTORE) APPEND with keywords, STORE, EXPUNGE,
// FETCH, SEARCH, COPY and IDLE for a bounded time, and every untagged
// response is checked against a client-side model of the mailbox:
//   - a keyword in a FETCH FLAGS was announced in FLAGS before;
//   - EXISTS never shrinks the view, EXPUNGE names a message in it,
//     VANISHED only UIDs in it;
//   - FETCH names a message in the view with the UID the model has for
//     it, UIDs ascend with sequence numbers;
//   - HIGHESTMODSEQ never goes down, nor a message's MODSEQ;
//
// and at the end each client's view equals the mailbox. Zero violations
// (issue 14 quality bar). MAILROOM_MODEL_SECONDS lengthens the run.
func TestConcurrencyModel(t *testing.T) {
	ts := startTestServer(t)
	dur := 3 * time.Second
	if s, err := strconv.Atoi(os.Getenv("MAILROOM_MODEL_SECONDS")); err == nil && s > 0 {
		dur = time.Duration(s) * time.Second
	}
	users := []string{testUser}
	for i := 1; i < 5; i++ {
		u := fmt.Sprintf("model%d@example.org", i)
		hash := authtest.Credentials(testPass)
		if _, err := ts.st.CreateAccount(context.Background(), u, hash); err != nil {
			t.Fatal(err)
		}
		users = append(users, u)
	}
	var clients []*modelClient
	for i := range 10 {
		mc, err := dialModel(ts.addr, users[i/2], i%2 == 0, int64(i))
		if err != nil {
			t.Fatal(err)
		}
		defer mc.nc.Close()
		clients = append(clients, mc)
	}
	deadline := time.Now().Add(dur)
	var wg sync.WaitGroup
	for _, mc := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mc.run(deadline)
		}()
	}
	wg.Wait()
	total, ops := 0, 0
	for i, mc := range clients {
		if mc.err == nil {
			mc.err = mc.finalCheck()
		}
		if mc.err != nil {
			t.Errorf("client %d (%s): %v", i, mc.user, mc.err)
		}
		ops += mc.ops
		total += len(mc.violations)
		for j, v := range mc.violations {
			if j == 5 {
				t.Errorf("client %d: ... %d more", i, len(mc.violations)-5)
				break
			}
			t.Errorf("client %d (%s, qresync %v) violation: %s", i, mc.user, mc.qresync, v)
		}
	}
	// \Recent: both sessions of an account had INBOX selected all along,
	// so each message in it is recent in exactly one of them.
	for i := 0; i+1 < len(clients); i += 2 {
		a, b := clients[i], clients[i+1]
		if a.err != nil || b.err != nil {
			continue
		}
		for _, u := range a.uids {
			if a.recentSeen[u] == b.recentSeen[u] {
				total++
				t.Errorf("%s UID %d: \\Recent in session A %v, in B %v; want exactly one", a.user, u, a.recentSeen[u], b.recentSeen[u])
			}
		}
	}
	t.Logf("%d commands in %v, %d model violations", ops, dur, total)
	if ops < 100 {
		t.Errorf("only %d commands ran", ops)
	}
}

// modelClient is one IMAP client and its model of the selected INBOX.
type modelClient struct {
	user    string
	qresync bool
	nc      net.Conn
	br      *bufio.Reader
	rng     *rand.Rand
	tag     int
	ops     int
	err     error

	flags      map[string]bool   // announced by FLAGS
	uids       []uint32          // the view: index+1 is the sequence number; 0 = UID not yet learned
	modseqs    map[uint32]uint64 // last MODSEQ seen per UID
	highest    uint64            // last HIGHESTMODSEQ
	violations []string
	recentSeen map[uint32]bool // UID -> \Recent in the last FETCH FLAGS
	last       []string        // recent responses, for context
}

var modelKeywords = []string{"$Label1", "$Label2", "$Label3", "$Forwarded", "Junk", "NonJunk", "$MDNSent", "todo"}

func dialModel(addr, user string, qresync bool, seed int64) (*modelClient, error) {
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	mc := &modelClient{user: user, qresync: qresync, nc: nc, br: bufio.NewReader(nc),
		rng: rand.New(rand.NewPCG(uint64(seed), 14)), modseqs: map[uint32]uint64{}}
	if _, err := mc.read(); err != nil { // greeting
		return nil, err
	}
	if _, err := mc.cmd("login %s %s", user, testPass); err != nil {
		return nil, err
	}
	if qresync {
		_, err = mc.cmd("enable qresync")
	} else {
		_, err = mc.cmd("enable condstore")
	}
	if err != nil {
		return nil, err
	}
	mc.flags = map[string]bool{}
	mc.uids = []uint32{}
	if _, err := mc.cmd("select inbox"); err != nil {
		return nil, err
	}
	return mc, nil
}

func (mc *modelClient) violate(format string, args ...any) {
	if len(mc.violations) < 100 {
		mc.violations = append(mc.violations, fmt.Sprintf(format, args...)+fmt.Sprintf(" (after %q)", mc.last))
	}
}

// read reads one response line, literals inline.
func (mc *modelClient) read() (string, error) {
	mc.nc.SetReadDeadline(time.Now().Add(30 * time.Second))
	var sb strings.Builder
	for {
		line, err := mc.br.ReadString('\n')
		if err != nil {
			return "", err
		}
		line = strings.TrimSuffix(line, "\r\n")
		sb.WriteString(line)
		n, ok := trailingLiteral(line)
		if !ok {
			return sb.String(), nil
		}
		buf := make([]byte, n)
		if _, err := io.ReadFull(mc.br, buf); err != nil {
			return "", err
		}
		sb.WriteString("\r\n")
		sb.Write(buf)
	}
}

// cmd sends a command, checks every response until the tagged one
// against the model and returns the tagged line; a NO or BAD is an error.
func (mc *modelClient) cmd(format string, args ...any) (string, error) {
	mc.tag++
	mc.ops++
	tag := "m" + strconv.Itoa(mc.tag)
	mc.nc.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if _, err := fmt.Fprintf(mc.nc, tag+" "+format+"\r\n", args...); err != nil {
		return "", err
	}
	return mc.until(tag)
}

func (mc *modelClient) until(tag string) (string, error) {
	for {
		line, err := mc.read()
		if err != nil {
			return "", err
		}
		if strings.HasPrefix(line, tag+" ") {
			if f := strings.Fields(line); len(f) < 2 || f[1] != "OK" {
				return line, fmt.Errorf("%s", line)
			}
			if i := strings.Index(line, "[HIGHESTMODSEQ "); i >= 0 {
				n, _ := strconv.ParseUint(strings.TrimSuffix(strings.Fields(line[i:])[1], "]"), 10, 64)
				mc.checkHighest(n)
			}
			return line, nil
		}
		if strings.HasPrefix(line, "+") {
			continue
		}
		mc.last = append(mc.last, line)
		if len(mc.last) > 4 {
			mc.last = mc.last[1:]
		}
		r, err := parseRespErr(line)
		if err != nil {
			mc.violate("unparsable: %v", err)
			continue
		}
		mc.apply(r)
	}
}

func (mc *modelClient) checkHighest(n uint64) {
	if n < mc.highest {
		mc.violate("HIGHESTMODSEQ went down from %d to %d", mc.highest, n)
	}
	mc.highest = n
}

// apply checks one untagged response against the model and updates it.
func (mc *modelClient) apply(r resp) {
	switch r.kind {
	case "FLAGS":
		if len(r.items) != 1 {
			mc.violate("bad FLAGS %q", r.line)
			return
		}
		for _, f := range strs(r.items[0]) {
			mc.flags[f] = true
		}
	case "OK":
		if r.codeName() == "HIGHESTMODSEQ" {
			s := strs(r.code)
			if len(s) == 2 {
				n, _ := strconv.ParseUint(s[1], 10, 64)
				mc.checkHighest(n)
			}
		}
	case "EXISTS":
		if int(r.num) < len(mc.uids) {
			mc.violate("EXISTS %d below the %d messages in the view", r.num, len(mc.uids))
			return
		}
		for len(mc.uids) < int(r.num) {
			mc.uids = append(mc.uids, 0)
		}
	case "EXPUNGE":
		if mc.qresync {
			mc.violate("EXPUNGE to a QRESYNC client")
		}
		if r.num < 1 || int(r.num) > len(mc.uids) {
			mc.violate("EXPUNGE %d outside the %d messages", r.num, len(mc.uids))
			return
		}
		mc.uids = slices.Delete(mc.uids, int(r.num-1), int(r.num))
	case "VANISHED":
		if !mc.qresync {
			mc.violate("VANISHED to a client without QRESYNC")
		}
		if len(r.items) == 1 {
			if set, ok := r.items[0].(string); ok {
				mc.vanish(set)
				return
			}
		}
		mc.violate("bad VANISHED %q", r.line)
	case "FETCH":
		mc.fetch(r)
	}
}

// vanish removes the UIDs of set from the view. A UID the model has not
// learned yet takes the unknown slot where ascending order puts it.
func (mc *modelClient) vanish(setStr string) {
	set, err := imapmsg.ParseNumSet(setStr)
	if err != nil {
		mc.violate("bad VANISHED set %q", setStr)
		return
	}
	for _, rg := range set.Resolve(^uint32(0)) {
		if rg.Stop-rg.Start > 100000 {
			mc.violate("VANISHED range too big %q", setStr)
			return
		}
		for u := rg.Start; u <= rg.Stop; u++ {
			if i := slices.Index(mc.uids, u); i >= 0 {
				mc.uids = slices.Delete(mc.uids, i, i+1)
				continue
			}
			slot := -1
			for i, have := range mc.uids {
				if have != 0 && have > u {
					break
				}
				if have == 0 {
					slot = i
					break
				}
			}
			if slot < 0 {
				mc.violate("VANISHED UID %d not in the view", u)
				continue
			}
			mc.uids = slices.Delete(mc.uids, slot, slot+1)
		}
	}
}

func (mc *modelClient) fetch(r resp) {
	if r.num < 1 || int(r.num) > len(mc.uids) {
		mc.violate("FETCH %d outside the %d messages", r.num, len(mc.uids))
		return
	}
	a := r.fetchAttrs()
	for _, f := range strs(a["FLAGS"]) {
		if !mc.flags[f] && f != `\Recent` {
			mc.violate("flag %s in FETCH before FLAGS announced it", f)
		}
	}
	uid := uint32(0)
	defer func() {
		if f, ok := a["FLAGS"]; ok && uid != 0 {
			if mc.recentSeen == nil {
				mc.recentSeen = map[uint32]bool{}
			}
			mc.recentSeen[uid] = slices.Contains(strs(f), `\Recent`)
		}
	}()
	if s, ok := a["UID"].(string); ok {
		n, err := strconv.ParseUint(s, 10, 32)
		if err != nil {
			mc.violate("bad UID in %q", r.line)
			return
		}
		uid = uint32(n)
		i := int(r.num - 1)
		switch have := mc.uids[i]; {
		case have == 0:
			if (i > 0 && mc.uids[i-1] != 0 && mc.uids[i-1] >= uid) || (i+1 < len(mc.uids) && mc.uids[i+1] != 0 && mc.uids[i+1] <= uid) {
				mc.violate("UID %d at sequence %d out of order", uid, r.num)
			}
			mc.uids[i] = uid
		case have != uid:
			mc.violate("FETCH %d UID %d, the model has UID %d there", r.num, uid, have)
		}
	} else if mc.qresync {
		mc.violate("FETCH without UID to a QRESYNC client: %q", r.line)
	}
	if ms := r.fetchModSeq(); ms > 0 && uid != 0 {
		if ms < mc.modseqs[uid] {
			mc.violate("MODSEQ of UID %d went down from %d to %d", uid, mc.modseqs[uid], ms)
		}
		mc.modseqs[uid] = ms
	}
}

func (mc *modelClient) keywords() string {
	var ks []string
	for range 1 + mc.rng.IntN(2) {
		ks = append(ks, modelKeywords[mc.rng.IntN(len(modelKeywords))])
	}
	return strings.Join(ks, " ")
}

// run issues random commands until the deadline.
func (mc *modelClient) run(deadline time.Time) {
	msg := strings.ReplaceAll(simpleMsg, "\n", "\r\n")
	// Until the deadline, and at least modelMinOps operations: on a
	// loaded machine under -race a client may not get through many
	// before it (the test wants 100 commands in all).
	for n := 0; (time.Now().Before(deadline) || n < modelMinOps) && n < 5000 && mc.err == nil; n++ {
		count := len(mc.uids)
		seq := 1 + mc.rng.IntN(max(count, 1))
		var err error
		switch op := mc.rng.IntN(10); {
		case op < 2 || count == 0:
			_, err = mc.cmd("append inbox (%s) {%d+}\r\n%s", mc.keywords(), len(msg), msg)
		case op == 2:
			_, err = mc.cmd("store %d +flags (%s)", seq, mc.keywords())
		case op == 3:
			_, err = mc.cmd("store %d -flags.silent (%s)", seq, mc.keywords())
		case op == 4:
			if _, err = mc.cmd(`store %d +flags.silent (\Deleted)`, seq); err == nil {
				_, err = mc.cmd("expunge")
			}
		case op == 5:
			_, err = mc.cmd("fetch 1:* (uid flags)")
		case op == 6:
			_, err = mc.cmd("uid search keyword %s", modelKeywords[mc.rng.IntN(len(modelKeywords))])
		case op == 7:
			_, err = mc.cmd("copy %d inbox", seq)
		case op == 8:
			err = mc.idle(time.Duration(20+mc.rng.IntN(60)) * time.Millisecond)
		default:
			_, err = mc.cmd("noop")
		}
		if err == nil {
			err = mc.learnUIDs()
		}
		if err != nil {
			mc.err = err
		}
	}
}

// modelMinOps is how many operations each client runs at least, deadline
// or not: each is one command or more, so the 10 clients run at least the
// 100 commands TestConcurrencyModel asks for.
const modelMinOps = 10

// learnUIDs fetches the UIDs of messages the view has without one (new
// ones announced by EXISTS), so that a later VANISHED can be placed
// exactly. FETCH sends no VANISHED, so the view only grows meanwhile.
func (mc *modelClient) learnUIDs() error {
	for range 5 {
		i := slices.Index(mc.uids, 0)
		if i < 0 {
			return nil
		}
		if _, err := mc.cmd("fetch %d:* (uid)", i+1); err != nil {
			return err
		}
	}
	return nil
}

// idle runs IDLE for d; the pushed responses are checked like any other.
func (mc *modelClient) idle(d time.Duration) error {
	mc.tag++
	mc.ops++
	tag := "m" + strconv.Itoa(mc.tag)
	if _, err := io.WriteString(mc.nc, tag+" IDLE\r\n"); err != nil {
		return err
	}
	for {
		line, err := mc.read()
		if err != nil {
			return err
		}
		if strings.HasPrefix(line, "+") {
			break
		}
		// Updates pending when IDLE began come before the continuation.
		r, err := parseRespErr(line)
		if err != nil {
			return fmt.Errorf("IDLE: %q", line)
		}
		mc.apply(r)
	}
	time.Sleep(d)
	if _, err := io.WriteString(mc.nc, "DONE\r\n"); err != nil {
		return err
	}
	_, err := mc.until(tag)
	return err
}

// finalCheck: after the others stopped, a NOOP brings the view up to
// date and it must equal the mailbox, UID for UID.
func (mc *modelClient) finalCheck() error {
	if _, err := mc.cmd("noop"); err != nil {
		return err
	}
	if _, err := mc.cmd("fetch 1:* (uid flags)"); len(mc.uids) > 0 && err != nil {
		return err
	}
	if _, err := mc.cmd("uid search all"); err != nil {
		return err
	}
	for i, u := range mc.uids {
		if u == 0 {
			mc.violate("sequence %d never got its UID", i+1)
		}
	}
	// The STATUS count must be the view's size.
	n, err := mc.statusMessages()
	if err != nil {
		return err
	}
	if n != len(mc.uids) {
		mc.violate("view has %d messages, the mailbox %d", len(mc.uids), n)
	}
	return nil
}

func (mc *modelClient) statusMessages() (int, error) {
	mc.tag++
	tag := "m" + strconv.Itoa(mc.tag)
	io.WriteString(mc.nc, tag+" STATUS INBOX (MESSAGES)\r\n")
	n := -1
	for {
		line, err := mc.read()
		if err != nil {
			return 0, err
		}
		if strings.HasPrefix(line, tag+" ") {
			return n, nil
		}
		r, err := parseRespErr(line)
		if err != nil {
			return 0, err
		}
		if r.kind == "STATUS" && len(r.items) == 2 {
			s := strs(r.items[1])
			if len(s) == 2 {
				n, _ = strconv.Atoi(s[1])
			}
			continue
		}
		mc.apply(r)
	}
}
