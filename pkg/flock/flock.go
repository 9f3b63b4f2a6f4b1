// Package flock serialises read-modify-write cycles on shared state files
// between processes, with flock(2) on a lock file.
package flock

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Lock is a held exclusive lock. The kernel drops it if the holder dies, so
// a killed tool never leaves a stale lock behind.
type Lock struct{ f *os.File }

// Acquire blocks until it holds an exclusive lock on path, creating the
// file if needed.
func Acquire(path string) (*Lock, error) {
	return acquire(path, unix.LOCK_EX)
}

func acquire(path string, how int) (*Lock, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock %q: %w", path, err)
	}
	for {
		err = unix.Flock(int(f.Fd()), how)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %q: %w", path, err)
	}
	return &Lock{f: f}, nil
}

// File is the open lock file. A child process that inherits it holds the
// lock too (flock belongs to the open file, not the process), until both
// have let go: a parent can so hand a lock on to a child that outlives it.
func (l *Lock) File() *os.File { return l.f }

// Release drops the lock. It is safe to call on a nil Lock.
func (l *Lock) Release() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	return err
}

// AcquireShared blocks until it holds a shared lock on path, creating the
// file if needed: many holders at once, none while an exclusive lock is
// held.
func AcquireShared(path string) (*Lock, error) {
	return acquire(path, unix.LOCK_SH)
}

// Claim takes the exclusive lock on path without waiting, for a process
// that owns what the path stands for while it runs (a server and its
// depot, store or socket), and writes its pid into the file. If another
// process holds it, Claim fails at once with an error that names the
// holder's pid.
func Claim(path string) (*Lock, error) {
	l, ok, err := TryAcquire(path)
	if err != nil {
		return nil, err
	}
	if !ok {
		holder, _ := os.ReadFile(path)
		return nil, &HeldError{Path: path, Holder: strings.TrimSpace(string(holder))}
	}
	if err := l.f.Truncate(0); err == nil {
		_, _ = l.f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return l, nil
}

// HeldError is Claim's error when another process holds the lock.
type HeldError struct {
	Path   string
	Holder string // the holder's pid, as it wrote it ("" if unknown)
}

func (e *HeldError) Error() string {
	if e.Holder == "" {
		return fmt.Sprintf("%s is held by another process", e.Path)
	}
	return fmt.Sprintf("%s is held by pid %s", e.Path, e.Holder)
}

// TryAcquire takes the exclusive lock on path if nobody holds it; ok is
// false (and the lock nil) when another holder has it.
func TryAcquire(path string) (_ *Lock, ok bool, _ error) {
	l, err := acquire(path, unix.LOCK_EX|unix.LOCK_NB)
	if errors.Is(err, unix.EWOULDBLOCK) {
		return nil, false, nil
	}
	return l, err == nil, err
}
