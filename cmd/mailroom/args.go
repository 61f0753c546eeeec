package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
)

// errUsage means a usage message was already printed.
var errUsage = errors.New("usage")

// newFlagSet returns a FlagSet that reports errors to w and returns them
// instead of exiting.
func newFlagSet(name string, w io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(w)
	return fs
}

// parseInterspersed parses flags that may appear before, between or after
// positional arguments (`user add a@b.test --password-stdin --data d`),
// which the standard flag package does not allow by itself. "--" ends flag
// parsing. It returns the positional arguments.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, errUsage
			}
			return nil, fmt.Errorf("%w", errUsage)
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		// fs.Parse stops at the first non-flag; if it consumed a "--",
		// everything after it is positional.
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// wasSet reports whether the flag named name was given on the command line.
func wasSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) {
		if f.Name == name {
			set = true
		}
	})
	return set
}
