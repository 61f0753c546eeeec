package imapserver

import (
	"bufio"

	"github.com/mailroom/mailroom/store"
)

// bufSize is the size of a connection's read and write buffers. Lines and
// literals longer than that are read in pieces.
const bufSize = 4096

// getReader and getWriter take the connection's buffers from the server's
// pools; putReader and putWriter give them back, so that an idling
// connection holds no buffers. putReader keeps a reader that holds
// pipelined input; putWriter must follow a flush.
func (c *conn) getReader() {
	if c.br != nil {
		return
	}
	c.br, _ = c.srv.readers.Get().(*bufio.Reader)
	if c.br == nil {
		c.br = bufio.NewReaderSize(clientReader{c}, bufSize)
	} else {
		c.br.Reset(clientReader{c})
	}
	if c.dec != nil {
		c.dec.SetReader(c.br)
	}
}

func (c *conn) getWriter() {
	if c.bw != nil {
		return
	}
	c.srv.writersOut.Add(1)
	c.bw, _ = c.srv.writers.Get().(*bufio.Writer)
	if c.bw == nil {
		c.bw = bufio.NewWriterSize(c.out, bufSize)
	} else {
		c.bw.Reset(c.out)
	}
	if c.enc != nil {
		c.enc.SetWriter(c.bw)
	}
}

func (c *conn) putReader() {
	if c.br == nil || c.br.Buffered() > 0 {
		return
	}
	c.br.Reset(nil)
	c.srv.readers.Put(c.br)
	c.br = nil
	c.dec.SetReader(nil)
}

func (c *conn) putWriter() {
	if c.bw == nil || c.bw.Buffered() > 0 {
		return
	}
	c.bw.Reset(nil)
	c.srv.writers.Put(c.bw)
	c.srv.writersOut.Add(-1)
	c.bw = nil
	c.enc.SetWriter(nil)
}

// metaBuf is a slice of message metadata lent by the server's pool
// (getMetas) to one command; n is how many entries it may hold.
type metaBuf struct {
	all []store.MessageMeta // fetchChunk entries, zero beyond n
	n   int
}

// getMetas returns an empty slice with room for n (at most fetchChunk)
// message metadata entries, from the server's pool when it has one, and
// the buffer it is in; putMetas gives the buffer back when the command is
// done with the slice. The slice's capacity is n: an append past it
// reallocates instead of writing into the buffer beyond n.
func (c *conn) getMetas(n int) (*metaBuf, []store.MessageMeta) {
	b, ok := c.srv.metaBufs.Get().(*metaBuf)
	if !ok {
		b = &metaBuf{all: make([]store.MessageMeta, fetchChunk)}
	}
	b.n = min(n, fetchChunk)
	return b, b.all[:0:b.n]
}

// putMetas clears the entries the command could have written (no flag
// slices kept alive by the pool) and pools the buffer. Only those: FETCH
// BODY[] of one message cleared all 1,024 entries (90 KB), 5 % of SEARCH
// UNSEEN's CPU.
func (c *conn) putMetas(b *metaBuf) {
	clear(b.all[:b.n])
	c.srv.metaBufs.Put(b)
}

// Bounds of the body buffers FETCH reads batches into (bodyBatchInto):
// at least minBodyBuf, so that one pooled buffer serves messages of
// mixed sizes; one larger than maxPooledBodyBuf (a batch is at most
// bodyBatchBytes, unless its messages grew past their recorded sizes)
// is left to the garbage collector.
const (
	minBodyBuf       = 256 << 10
	maxPooledBodyBuf = bodyBatchBytes
)

// getBodyBuf returns a buffer for bodyBatchInto from the server's pool
// (or an empty one); putBodyBuf gives it back once the responses that
// used it are written.
func (c *conn) getBodyBuf() *[]byte {
	if p, ok := c.srv.bodyBufs.Get().(*[]byte); ok {
		return p
	}
	return new([]byte)
}

func (c *conn) putBodyBuf(p *[]byte) {
	if cap(*p) == 0 || cap(*p) > maxPooledBodyBuf {
		return
	}
	*p = (*p)[:0]
	c.srv.bodyBufs.Put(p)
}
