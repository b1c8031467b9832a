//go:build unix

package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// lockFileName is the lock file inside the data directory.
const lockFileName = "lock"

// errDataDirInUse is the error of a jmi started on a data directory that
// another one uses.
var errDataDirInUse = errors.New("the data directory is in use by another jmi")

// lockDataDir takes an exclusive lock on the data directory dir for as long
// as this jmi runs, so that a second "jmi listen" or "jmi call" on it fails
// at once instead of sharing it. Shared, two processes lose history writes
// to each other (SQLITE_BUSY), one records a call the other answered as
// "answered elsewhere", and with the same full JID their sessions replace
// each other. The lock is flock(2), which the kernel drops when the process
// ends however it ends, so a killed jmi leaves no stale lock; the file
// holds the pid of its owner, for the error message.
func lockDataDir(dir string) (release func(), err error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating the data directory: %w", err)
	}
	path := filepath.Join(dir, lockFileName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if errors.Is(err, syscall.EROFS) || errors.Is(err, fs.ErrPermission) {
		// Say what it means before any call is placed or answered: the
		// history lives beside the lock.
		return nil, fmt.Errorf("cannot record the call history: the data directory %s cannot be written (%w); give a writable --data-dir", dir, err)
	}
	if err != nil {
		return nil, fmt.Errorf("opening the lock file: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		b, _ := os.ReadFile(path)
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			owner := ""
			if pid, perr := strconv.Atoi(strings.TrimSpace(string(b))); perr == nil {
				owner = fmt.Sprintf(" (pid %d)", pid)
			}
			return nil, fmt.Errorf("%w%s: %s; run one jmi per data directory, or give this one its own --data-dir", errDataDirInUse, owner, dir)
		}
		return nil, fmt.Errorf("locking the data directory %s: %w", dir, err)
	}
	// The pid is only a hint for the message above; the lock is the flock.
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return func() { f.Close() }, nil
}
