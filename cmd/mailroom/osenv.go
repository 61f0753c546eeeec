package main

import (
	"os"

	"golang.org/x/term"
)

func osEnv() env {
	return env{
		stdin:        os.Stdin,
		stdout:       os.Stdout,
		stderr:       os.Stderr,
		isTerminal:   func() bool { return term.IsTerminal(int(os.Stdin.Fd())) },
		readPassword: func() ([]byte, error) { return term.ReadPassword(int(os.Stdin.Fd())) },
		prog:         progName(os.Args[0]),
	}
}
