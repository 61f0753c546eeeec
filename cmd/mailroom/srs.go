package main

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/mailroom/mailroom/internal/config"
	"github.com/mailroom/mailroom/internal/srs"
)

// srsKeyFile holds the generated SRS secret in the data directory
// (one hex key a line; the first signs, all verify).
const srsKeyFile = "srs.key"

// newSRS builds the SRS rewriter of [srs], or nil when it is off. Its
// keys come from the config, else from <data>/srs.key, which is
// created with a random key on first use.
func newSRS(cfg config.Config) (*srs.Rewriter, error) {
	if !cfg.SRS.Enabled {
		return nil, nil
	}
	var keys [][]byte
	for _, k := range cfg.SRS.Keys {
		keys = append(keys, []byte(k))
	}
	if len(keys) == 0 {
		var err error
		if keys, err = srsKeysFromFile(filepath.Join(cfg.DataDir, srsKeyFile)); err != nil {
			return nil, err
		}
	}
	domain := cfg.SRS.Domain
	if domain == "" {
		domain = cfg.Hostname
	}
	return srs.New(domain, keys, cfg.SRS.MaxAge.Duration, nil)
}

// srsKeysFromFile reads the keys in path, creating it with one random
// key if it does not exist (O_EXCL: of two processes starting at once,
// one writes and both read the same key).
func srsKeysFromFile(path string) ([][]byte, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	switch {
	case err == nil:
		_, werr := f.WriteString(hex.EncodeToString(b[:]) + "\n")
		if serr := f.Sync(); werr == nil {
			werr = serr
		}
		if cerr := f.Close(); werr == nil {
			werr = cerr
		}
		if werr != nil {
			os.Remove(path)
			return nil, fmt.Errorf("srs key %s: %w", path, werr)
		}
	case !errors.Is(err, fs.ErrExist):
		return nil, fmt.Errorf("srs key: %w", err)
	}
	f, err = os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("srs key: %w", err)
	}
	defer f.Close()
	var keys [][]byte
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k := strings.TrimSpace(sc.Text()); k != "" && !strings.HasPrefix(k, "#") {
			keys = append(keys, []byte(k))
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("srs key %s: %w", path, err)
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("srs key %s: no key in the file", path)
	}
	return keys, nil
}
