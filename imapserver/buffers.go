package imapserver

import "bufio"

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
