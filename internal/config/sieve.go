package config

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/mailroom/mailroom/sieve"
)

// MaxGlobalSieveScripts bounds sieve_before and sieve_after each.
const MaxGlobalSieveScripts = 8

// maxGlobalSieveBytes bounds one global script file (as a user's script:
// sieve.DefaultLimits().MaxScriptSize).
const maxGlobalSieveBytes = 1 << 20

// Filtering holds the admin's global Sieve scripts, run at local
// delivery for every account before and after the account's own active
// script (Pigeonhole's sieve_before and sieve_after). Relative paths in
// the config file are relative to the file. Default: none.
type Filtering struct {
	SieveBefore []string `toml:"sieve_before"`
	SieveAfter  []string `toml:"sieve_after"`
	// SieveGlobalDir holds the admin's scripts that include :global
	// names (RFC 6609): NAME is read from <dir>/NAME.sieve. "" (the
	// default): none, such includes fail unless :optional.
	SieveGlobalDir string `toml:"sieve_global_dir"`
	// SieveSpamHeaders are the fields spamtest (RFC 5235) reads the
	// scanner's score from; empty means X-Spam-Score, X-Spamd-Result.
	// SieveSpamMaxScore is the score that means "certainly spam" for a
	// bare number (Rspamd's "[score / threshold]" carries its own).
	SieveSpamHeaders  []string `toml:"sieve_spam_headers"`
	SieveSpamMaxScore float64  `toml:"sieve_spam_max_score"`
	// SieveVirusHeader is the field virustest reads ("Clean" /
	// "Infected"); "" means X-Virus-Status.
	SieveVirusHeader string `toml:"sieve_virus_header"`
}

// GlobalSieveScript reads the :global script name from SieveGlobalDir
// (at most 1 MiB). A name that is not a plain file name, or a missing
// file, is sieve.ErrScriptNotFound.
func (f *Filtering) GlobalSieveScript(_ context.Context, name string) ([]byte, error) {
	if f.SieveGlobalDir == "" || name == "" || name != filepath.Base(name) || strings.HasPrefix(name, ".") ||
		strings.ContainsAny(name, "/\\\x00") {
		return nil, sieve.ErrScriptNotFound
	}
	b, err := readBounded(filepath.Join(f.SieveGlobalDir, name+".sieve"), maxGlobalSieveBytes)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, sieve.ErrScriptNotFound
	}
	return b, err
}

func (f *Filtering) validate() []error {
	var errs []error
	for key, paths := range map[string][]string{"sieve_before": f.SieveBefore, "sieve_after": f.SieveAfter} {
		if len(paths) > MaxGlobalSieveScripts {
			errs = append(errs, fmt.Errorf("%s: %d scripts, at most %d allowed", key, len(paths), MaxGlobalSieveScripts))
		}
		for _, p := range paths {
			if p == "" {
				errs = append(errs, fmt.Errorf("%s: empty path", key))
			}
		}
	}
	if f.SieveSpamMaxScore < 0 {
		errs = append(errs, errors.New("sieve_spam_max_score must not be negative"))
	}
	if len(f.SieveSpamHeaders) > 8 {
		errs = append(errs, errors.New("sieve_spam_headers: at most 8 fields"))
	}
	return errs
}

func (f *Filtering) resolvePaths(dir string) {
	if f.SieveGlobalDir != "" && !filepath.IsAbs(f.SieveGlobalDir) {
		f.SieveGlobalDir = filepath.Join(dir, f.SieveGlobalDir)
	}
	for _, ps := range [][]string{f.SieveBefore, f.SieveAfter} {
		for i, p := range ps {
			if p != "" && !filepath.IsAbs(p) {
				ps[i] = filepath.Join(dir, p)
			}
		}
	}
}

// CompileSieve reads and compiles the global scripts; an error names the
// file and, for a script that does not compile, the line.
func (f *Filtering) CompileSieve(lim sieve.Limits) (before, after []*sieve.Script, err error) {
	compile := func(paths []string) ([]*sieve.Script, error) {
		var out []*sieve.Script
		for _, p := range paths {
			src, err := readBounded(p, maxGlobalSieveBytes)
			if err != nil {
				return nil, err
			}
			sc, err := sieve.Compile(src, lim)
			if err != nil {
				return nil, fmt.Errorf("sieve script %s: %w", p, err)
			}
			out = append(out, sc)
		}
		return out, nil
	}
	if before, err = compile(f.SieveBefore); err != nil {
		return nil, nil, err
	}
	if after, err = compile(f.SieveAfter); err != nil {
		return nil, nil, err
	}
	return before, after, nil
}

func readBounded(path string, max int64) ([]byte, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	b, err := io.ReadAll(io.LimitReader(fh, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("sieve script %s is larger than %d bytes", path, max)
	}
	return b, nil
}
