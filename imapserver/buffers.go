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

// getMetas returns an empty slice with room for n (at most fetchChunk)
// message metadata entries, from the server's pool when it has one;
// putMetas gives it back when the command is done with it.
func (c *conn) getMetas(n int) []store.MessageMeta {
	if p, ok := c.srv.metaBufs.Get().(*[]store.MessageMeta); ok && cap(*p) >= n {
		return (*p)[:0]
	}
	return make([]store.MessageMeta, 0, fetchChunk)
}

func (c *conn) putMetas(m []store.MessageMeta) {
	if cap(m) != fetchChunk {
		return
	}
	m = m[:cap(m)]
	clear(m) // no flag slices kept alive by the pool
	c.srv.metaBufs.Put(&m)
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
