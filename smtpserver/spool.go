package smtpserver

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
)

// DefaultSpoolMemoryBytes is how much of a message is kept in memory
// before the rest goes to a spool file.
const DefaultSpoolMemoryBytes = 1 << 20

// spool holds one incoming message: its first memMax bytes in memory,
// all of it in an unlinked temporary file past that. The file is removed
// from the directory as soon as it is created, so nothing is left behind
// by a crash; close releases it.
type spool struct {
	dir    string // "" is os.TempDir()
	memMax int

	mem  []byte
	f    *os.File
	size int64
}

func (sp *spool) Write(p []byte) (int, error) {
	if sp.f == nil && len(sp.mem)+len(p) <= sp.memMax {
		sp.mem = append(sp.mem, p...)
		sp.size += int64(len(p))
		return len(p), nil
	}
	if sp.f == nil {
		f, err := os.CreateTemp(sp.dir, "smtp-spool-*")
		if errors.Is(err, fs.ErrNotExist) && sp.dir != "" {
			// First use of the spool directory.
			if err = os.MkdirAll(sp.dir, 0o700); err == nil {
				f, err = os.CreateTemp(sp.dir, "smtp-spool-*")
			}
		}
		if err != nil {
			return 0, fmt.Errorf("smtp spool: %w", err)
		}
		// Unlinked at once: the open descriptor keeps the data, and a
		// crash leaves no file behind.
		if err := os.Remove(f.Name()); err != nil {
			f.Close()
			return 0, fmt.Errorf("smtp spool: %w", err)
		}
		sp.f = f
		if _, err := f.Write(sp.mem); err != nil {
			return 0, fmt.Errorf("smtp spool: %w", err)
		}
		sp.mem = nil
	}
	n, err := sp.f.Write(p)
	sp.size += int64(n)
	if err != nil {
		return n, fmt.Errorf("smtp spool: %w", err)
	}
	return n, nil
}

// readInto fills dst, which must be sp.size bytes long, with the message.
func (sp *spool) readInto(dst []byte) error {
	if int64(len(dst)) != sp.size {
		return errors.New("smtp spool: size mismatch")
	}
	if sp.f == nil {
		copy(dst, sp.mem)
		return nil
	}
	n, err := sp.f.ReadAt(dst, 0)
	if n == len(dst) {
		return nil // a full read may come with io.EOF
	}
	if err == nil {
		err = io.ErrUnexpectedEOF
	}
	return fmt.Errorf("smtp spool: %w", err)
}

// close releases the memory and the file.
func (sp *spool) close() {
	sp.mem = nil
	if sp.f != nil {
		sp.f.Close()
		sp.f = nil
	}
}
