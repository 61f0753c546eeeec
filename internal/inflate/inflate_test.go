package inflate

import (
	"bytes"
	"compress/flate"
	"encoding/hex"
	"io"
	"math/rand/v2"
	"testing"
	"time"
)

// Two commands as zlib deflates them with Z_PARTIAL_FLUSH (isync/mbsync's
// COMPRESS=DEFLATE): each ends in an empty fixed block, not a stored one.
const (
	partial1 = "3255f073f4750d0e707476e5e50208"   // "5 NAMESPACE\r\n"
	partial2 = "2033051fcfe010052525052d5e2e8000" // "6 LIST \"\" *\r\n"
)

// TestPartialFlushReadable: a command the client flushed is readable
// while the stream goes on (the connection stays open, nothing more
// comes). compress/flate holds it until more input arrives; this is why
// the package exists.
func TestPartialFlushReadable(t *testing.T) {
	t.Parallel()
	pr, pw := io.Pipe()
	defer pw.Close()
	r := NewReader(pr)
	for _, c := range []struct{ hex, want string }{{partial1, "5 NAMESPACE\r\n"}, {partial2, "6 LIST \"\" *\r\n"}} {
		b, _ := hex.DecodeString(c.hex)
		go pw.Write(b)
		got := make(chan string, 1)
		go func() {
			buf := make([]byte, 64)
			var out []byte
			for len(out) < len(c.want) {
				n, err := r.Read(buf)
				out = append(out, buf[:n]...)
				if err != nil {
					break
				}
			}
			got <- string(out)
		}()
		select {
		case g := <-got:
			if g != c.want {
				t.Fatalf("read %q, want %q", g, c.want)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("%q not readable after its partial flush", c.want)
		}
	}
}

// TestSameAsCompressFlate: on streams compress/flate writes (several
// levels, sync flushes, large and repetitive input), the output is
// compress/flate's.
func TestSameAsCompressFlate(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	for _, level := range []int{flate.NoCompression, flate.BestSpeed, flate.DefaultCompression, flate.HuffmanOnly} {
		var in, z bytes.Buffer
		w, _ := flate.NewWriter(&z, level)
		for i := 0; i < 50; i++ {
			chunk := make([]byte, rng.IntN(70000))
			for j := range chunk {
				chunk[j] = "abcabcabd\r\n"[rng.IntN(11)]
			}
			in.Write(chunk)
			w.Write(chunk)
			if i%7 == 0 {
				w.Flush()
			}
		}
		w.Close()
		got, err := io.ReadAll(NewReader(bytes.NewReader(z.Bytes())))
		if err != nil || !bytes.Equal(got, in.Bytes()) {
			t.Fatalf("level %d: %d bytes, err %v; want %d bytes", level, len(got), err, in.Len())
		}
	}
}

// FuzzInflate: on any input, the same bytes and the same failure as
// compress/flate.
func FuzzInflate(f *testing.F) {
	for _, h := range []string{partial1, partial2, partial1 + partial2} {
		b, _ := hex.DecodeString(h)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		want, werr := io.ReadAll(io.LimitReader(flate.NewReader(bytes.NewReader(b)), 1<<20))
		got, gerr := io.ReadAll(io.LimitReader(NewReader(bytes.NewReader(b)), 1<<20))
		if !bytes.Equal(got, want) || (werr == nil) != (gerr == nil) {
			t.Fatalf("got %d bytes, %v; compress/flate %d bytes, %v", len(got), gerr, len(want), werr)
		}
	})
}
