// Package pidfd waits for and signals processes through pidfds, which
// never name another process once a pid is reused.
package pidfd

import (
	"errors"
	"time"

	"golang.org/x/sys/unix"
)

// FD is a handle on a process that stays valid, and never names another
// process, even after the pid is reused: signalling and waiting through it
// is free of pid-reuse races, and it becomes readable when the process
// exits (a zombie has exited), whoever its parent is.
type FD int

// Open opens a pidfd for pid. ok is false if the process is gone.
func Open(pid int) (fd FD, ok bool, err error) {
	n, err := unix.PidfdOpen(pid, 0)
	if errors.Is(err, unix.ESRCH) {
		return -1, false, nil
	}
	if err != nil {
		return -1, false, err
	}
	return FD(n), true, nil
}

// Close closes the pidfd.
func (p FD) Close() { unix.Close(int(p)) }

// Signal sends sig; a process that already exited is not an error.
func (p FD) Signal(sig unix.Signal) error {
	err := unix.PidfdSendSignal(int(p), sig, nil, 0)
	if errors.Is(err, unix.ESRCH) {
		return nil
	}
	return err
}

// Exited reports whether the process has exited, without waiting.
func (p FD) Exited() bool {
	pfd := []unix.PollFd{{Fd: int32(p), Events: unix.POLLIN}}
	n, err := unix.Poll(pfd, 0)
	return err == nil && n > 0
}

// Wait blocks until every process in fds has exited or timeout passes,
// and reports whether all exited. It sleeps in poll(2), never polls state.
func Wait(fds []FD, timeout time.Duration) (bool, error) {
	deadline := time.Now().Add(timeout)
	pending := append([]FD(nil), fds...)
	for len(pending) > 0 {
		left := time.Until(deadline)
		if left <= 0 {
			return false, nil
		}
		pfds := make([]unix.PollFd, len(pending))
		for i, fd := range pending {
			pfds[i] = unix.PollFd{Fd: int32(fd), Events: unix.POLLIN}
		}
		_, err := unix.Poll(pfds, int(left.Milliseconds())+1)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return false, err
		}
		next := pending[:0]
		for i, fd := range pending {
			if pfds[i].Revents == 0 {
				next = append(next, fd)
			}
		}
		pending = next
	}
	return true, nil
}
