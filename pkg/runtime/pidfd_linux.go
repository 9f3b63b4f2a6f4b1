package runtime

import (
	"errors"
	"time"

	"golang.org/x/sys/unix"
)

// pidfd is a handle on a process that stays valid, and never names another
// process, even after the pid is reused: signalling and waiting through it
// is free of pid-reuse races, and a pidfd becomes readable when the process
// exits, whoever its parent is.
type pidfd int

// openPidfd opens a pidfd for pid. ok is false if the process is gone.
func openPidfd(pid int) (fd pidfd, ok bool, err error) {
	n, err := unix.PidfdOpen(pid, 0)
	if errors.Is(err, unix.ESRCH) {
		return -1, false, nil
	}
	if err != nil {
		return -1, false, err
	}
	return pidfd(n), true, nil
}

func (p pidfd) close() { unix.Close(int(p)) }

// signal sends sig; a process that already exited is not an error.
func (p pidfd) signal(sig unix.Signal) error {
	err := unix.PidfdSendSignal(int(p), sig, nil, 0)
	if errors.Is(err, unix.ESRCH) {
		return nil
	}
	return err
}

// waitExit blocks until every process in fds has exited or timeout passes,
// and reports whether all exited. It sleeps in poll(2), never polls state.
func waitExit(fds []pidfd, timeout time.Duration) (bool, error) {
	deadline := time.Now().Add(timeout)
	pending := append([]pidfd(nil), fds...)
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
