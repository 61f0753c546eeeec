package imapserver

import (
	"bytes"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	kflate "github.com/klauspost/compress/flate"

	"github.com/mailroom/mailroom/internal/inflate"
)

const codeCompressionActive = "COMPRESSIONACTIVE" // RFC 4978 §3

// cmdCompress: COMPRESS DEFLATE (RFC 4978), after login only (the state
// table refuses it before: nothing is decompressed for an unauthenticated
// client). The tagged OK is the last uncompressed response; the command
// loop then calls startCompress.
func cmdCompress(c *conn, cmd *command) error {
	if err := c.dec.SP(); err != nil {
		return err
	}
	mech, err := c.dec.Atom()
	if err != nil {
		return err
	}
	if err := c.endArgs(); err != nil {
		return err
	}
	if !strings.EqualFold(mech, "DEFLATE") {
		return badf("", "unknown compression mechanism")
	}
	if _, ok := c.nc.(*compressConn); ok {
		return nof(codeCompressionActive, "DEFLATE active already")
	}
	c.compress = true
	return nil
}

// startCompress puts the connection under DEFLATE after COMPRESS's OK.
// Whatever the client sent after the command is compressed already and is
// kept for the decompressor.
func (c *conn) startCompress() {
	var pre []byte
	if c.br != nil && c.br.Buffered() > 0 {
		b, _ := c.br.Peek(c.br.Buffered())
		pre = bytes.Clone(b)
	}
	c.setIO(newCompressConn(c.nc, pre, &c.srv.deflateBufs))
}

// compressConn is a connection under COMPRESS=DEFLATE. Writes are
// compressed and flushed (sync flush) at every Write, which the buffered
// writer makes once per response batch or 4 KiB. The compressor is
// klauspost/compress's stateless one: each Write is deflated on its own,
// with pooled tables, so an idle compressed session holds no compressor
// state (compress/flate's writer keeps about 1 MiB per connection),
// at the price of no dictionary across writes. Reads come from a
// goroutine that inflates the client's stream (internal/inflate:
// compress/flate returning each block's data at its end, which a client's
// Z_PARTIAL_FLUSH needs) one chunk ahead only: a zip bomb inflates
// no faster than the command reader consumes it, so it meets the line and
// literal limits, never memory. The goroutine reads the connection below
// without a deadline (the inflater keeps any read error for good);
// read deadlines are kept here, and a deadline set on the raw connection
// to wake the session (IDLE, Shutdown) is passed on as a timeout of the
// next Read.
type compressConn struct {
	net.Conn            // TCP or TLS
	bufs     *sync.Pool // of *bytes.Buffer, the Server's

	in   chan inflated
	done chan struct{}
	rest []byte
	err  error // the inflater's end: client gone or corrupt stream

	mu       sync.Mutex
	deadline time.Time
	poked    bool          // a raw deadline woke the inflater
	wake     chan struct{} // closed and renewed at each deadline change or poke
	closer   sync.Once
}

type inflated struct {
	b   []byte
	err error
}

func newCompressConn(under net.Conn, pre []byte, bufs *sync.Pool) *compressConn {
	cc := &compressConn{Conn: under, bufs: bufs, in: make(chan inflated), done: make(chan struct{}), wake: make(chan struct{})}
	under.SetReadDeadline(time.Time{})
	go cc.inflate(io.MultiReader(bytes.NewReader(pre), rawSource{cc}))
	return cc
}

func (cc *compressConn) inflate(src io.Reader) {
	fr := inflate.NewReader(src)
	defer fr.Close()
	// Two buffers taking turns: Read holds one until it is drained, and
	// takes the next only then, while the other is being filled.
	var bufs [2][bufSize]byte
	for i := 0; ; i ^= 1 {
		b := bufs[i][:]
		n, err := fr.Read(b)
		if n > 0 {
			select {
			case cc.in <- inflated{b: b[:n]}:
			case <-cc.done:
				return
			}
		}
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF // the client ended the stream
			}
			select {
			case cc.in <- inflated{err: err}:
			case <-cc.done:
			}
			return
		}
	}
}

// rawSource reads the connection below for the inflater; a timeout there
// is a wake-up meant for the session: it becomes a poke, and the read goes
// on without a deadline.
type rawSource struct{ cc *compressConn }

func (r rawSource) Read(b []byte) (int, error) {
	for {
		n, err := r.cc.Conn.Read(b)
		if err == nil || !isTimeout(err) {
			return n, err
		}
		r.cc.Conn.SetReadDeadline(time.Time{})
		r.cc.mu.Lock()
		r.cc.poked = true
		r.cc.renewWake()
		r.cc.mu.Unlock()
		if n > 0 {
			return n, nil
		}
	}
}

// renewWake wakes a waiting Read; under mu.
func (cc *compressConn) renewWake() {
	close(cc.wake)
	cc.wake = make(chan struct{})
}

func (cc *compressConn) Read(b []byte) (int, error) {
	for len(cc.rest) == 0 {
		if cc.err != nil {
			return 0, cc.err
		}
		select { // what is inflated already comes first, as from a socket buffer
		case in := <-cc.in:
			cc.rest, cc.err = in.b, in.err
			continue
		default:
		}
		cc.mu.Lock()
		dl, wake, poked := cc.deadline, cc.wake, cc.poked
		cc.poked = false
		cc.mu.Unlock()
		if poked {
			return 0, os.ErrDeadlineExceeded
		}
		var timeout <-chan time.Time
		var t *time.Timer
		if !dl.IsZero() {
			d := time.Until(dl)
			if d <= 0 {
				return 0, os.ErrDeadlineExceeded
			}
			t = time.NewTimer(d)
			timeout = t.C
		}
		var err error
		select {
		case in := <-cc.in:
			cc.rest, cc.err = in.b, in.err
		case <-wake:
		case <-timeout:
			err = os.ErrDeadlineExceeded
		case <-cc.done:
			err = net.ErrClosed
		}
		if t != nil {
			t.Stop()
		}
		if err != nil {
			return 0, err
		}
	}
	n := copy(b, cc.rest)
	cc.rest = cc.rest[n:]
	return n, nil
}

// Write deflates b as blocks of their own ending in a sync flush (an
// empty stored block), as RFC 4978 §4 asks at the end of each response
// batch, and sends them in one write: the stateless compressor writes a
// block's header, length and data separately, which under TLS became
// five records per response, and mbsync (isync 1.4) then waited forever
// for a response it had been sent in pieces (interop scenario mbsync).
func (cc *compressConn) Write(b []byte) (int, error) {
	buf, _ := cc.bufs.Get().(*bytes.Buffer)
	if buf == nil {
		buf = new(bytes.Buffer)
	}
	defer func() {
		if buf.Cap() <= 64<<10 {
			buf.Reset()
			cc.bufs.Put(buf)
		}
	}()
	if err := kflate.StatelessDeflate(buf, b, false, nil); err != nil {
		return 0, err
	}
	if _, err := cc.Conn.Write(buf.Bytes()); err != nil {
		return 0, err
	}
	return len(b), nil
}

// SetReadDeadline sets the deadline of Read; like a new deadline on a
// net.Conn, it also drops a wake-up not yet seen.
func (cc *compressConn) SetReadDeadline(t time.Time) error {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	cc.deadline = t
	cc.poked = false
	cc.renewWake()
	return nil
}

func (cc *compressConn) SetDeadline(t time.Time) error {
	cc.SetReadDeadline(t)
	return cc.Conn.SetWriteDeadline(t)
}

func (cc *compressConn) Close() error {
	cc.closer.Do(func() { close(cc.done) })
	return cc.Conn.Close()
}
