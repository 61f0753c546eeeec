package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// lockFileName is the file in the data directory that `serve` holds an
// exclusive flock(2) on while it runs. It also records serve's PID and
// config file, for the message a second serve prints and for commands
// that want the config serve uses (user list --usage). The lock is
// released by the kernel when the process ends, however it ends; the file
// stays.
const lockFileName = "serve.lock"

// lockDataDir takes the exclusive lock on dir for this serve process and
// returns the function that releases it. A second serve on the same
// directory gets an error naming the first one's PID. The CLI commands
// (user, queue, backup…) do not take the lock: they work while serve runs.
func lockDataDir(dir, configPath string) (unlock func(), err error) {
	path := filepath.Join(dir, lockFileName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("data directory lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			who := "another mailroom serve"
			if info, ok := readLockFile(dir); ok && info.pid > 0 {
				who = fmt.Sprintf("another mailroom serve (pid %d)", info.pid)
			}
			return nil, fmt.Errorf("data directory %s is in use by %s: stop it first, or give this one its own --data directory (the user, queue and backup commands work while serve runs)", dir, who)
		}
		return nil, fmt.Errorf("data directory lock %s: %w", path, err)
	}
	rec := fmt.Sprintf("pid=%d\nconfig=%s\n", os.Getpid(), configPath)
	if err := f.Truncate(0); err == nil {
		_, err = f.WriteAt([]byte(rec), 0)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("data directory lock %s: %w", path, err)
		}
	}
	return func() { f.Close() }, nil
}

// lockInfo is what serve recorded in the lock file.
type lockInfo struct {
	pid    int
	config string // absolute path of serve's config file; "" = none
}

// readLockFile reads what the last serve on dir recorded; ok is false if
// no serve ever ran there.
func readLockFile(dir string) (lockInfo, bool) {
	f, err := os.Open(filepath.Join(dir, lockFileName))
	if err != nil {
		return lockInfo{}, false
	}
	defer f.Close()
	var info lockInfo
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), "=")
		switch k {
		case "pid":
			info.pid, _ = strconv.Atoi(v)
		case "config":
			info.config = v
		}
	}
	return info, true
}
