package runtime

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/gdn-dev/gdn/pkg/pidfd"
	"github.com/gdn-dev/gdn/pkg/procdir"
	"golang.org/x/sys/unix"
)

// dadooExitTimeout bounds the wait for a container's dadoos once their
// processes are dead; a dadoo still there after it is SIGKILLed.
const dadooExitTimeout = 2 * time.Second

// recordTimeout bounds the wait for the dadoos of a killed container to
// record their processes' exit statuses (a pea's also deletes its runtime
// container first); recordPoll is how often they are looked at.
const (
	recordTimeout = 10 * time.Second
	recordPoll    = 5 * time.Millisecond
)

// killedStatus is what a process killed by SIGKILL exits with, as its
// dadoo records it: 128 + 9.
const killedStatus = 128 + int(unix.SIGKILL)

// recordExits makes sure every process of the container whose bundle is
// given has its exit status on disk, once the init has been killed (which
// took every process of its pid namespace, peas included, with it): a
// client waiting on one gets its status, never "no exit status". Each
// live dadoo is given until recordTimeout to record it and let go of its
// exit FIFO (for a pea, after deleting the pea's runtime container); a
// process whose dadoo died or hung without recording gets 137 written for
// it, the status SIGKILL gave it.
func (r *Runtime) recordExits(bundle string) error {
	if bundle == "" {
		return nil
	}
	ids, err := procdir.List(bundle)
	if err != nil {
		return fmt.Errorf("processes of %q: %w", bundle, err)
	}
	deadline := time.Now().Add(recordTimeout)
	for _, id := range ids {
		d, err := procdir.Path(bundle, id)
		if err != nil {
			continue
		}
		waitRecorded(d, deadline)
		if _, ok, err := d.ReadExitCode(); !ok && err == nil {
			r.log.Warn("no exit status recorded; recording SIGKILL's", "process", id)
			if err := d.WriteExitCode(killedStatus); err != nil {
				return fmt.Errorf("exit status of %q: %w", id, err)
			}
		}
	}
	return nil
}

// waitRecorded waits, until deadline, for d's dadoo to have recorded the
// exit status and closed its end of the exit FIFO (what a waiter takes as
// "the status is written"), or to be gone.
func waitRecorded(d procdir.Dir, deadline time.Time) {
	fd, alive := openDadoo(d)
	if alive {
		defer fd.Close()
	}
	for {
		if _, ok, _ := d.ReadExitCode(); ok && !exitHeld(d) {
			return
		}
		if !alive || time.Now().After(deadline) {
			return
		}
		if exited, _ := pidfd.Wait([]pidfd.FD{fd}, recordPoll); exited {
			alive = false // look once more: it may have recorded first
		}
	}
}

// exitHeld reports whether some process (dadoo) still holds d's exit FIFO
// open for writing: a non-blocking read of a FIFO with no data is EAGAIN
// while a writer is there and end-of-file once none is.
func exitHeld(d procdir.Dir) bool {
	f, err := unix.Open(d.File(procdir.Exit), unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return false
	}
	defer unix.Close(f)
	var b [1]byte
	n, err := unix.Read(f, b[:])
	return err == unix.EAGAIN || n > 0
}

// endDadoos ends the dadoos of the container whose bundle is given (TERM,
// then KILL after dadooExitTimeout). Their processes must be dead and
// their exit statuses recorded (recordExits). The process directories
// stay, exit statuses and all, for a waiter still to read: they go with
// the bundle (gdn-depot destroy), as the reference's go with its depot
// directory.
func (r *Runtime) endDadoos(bundle string) error {
	if bundle == "" {
		return nil
	}
	ids, err := procdir.List(bundle)
	if err != nil {
		return fmt.Errorf("processes of %q: %w", bundle, err)
	}
	var dadoos []pidfd.FD
	for _, id := range ids {
		d, err := procdir.Path(bundle, id)
		if err != nil {
			continue
		}
		if fd, ok := openDadoo(d); ok {
			dadoos = append(dadoos, fd)
		}
	}
	defer func() {
		for _, fd := range dadoos {
			fd.Close()
		}
	}()
	for _, fd := range dadoos {
		_ = fd.Signal(unix.SIGTERM)
	}
	if done, _ := pidfd.Wait(dadoos, dadooExitTimeout); !done {
		for _, fd := range dadoos {
			_ = fd.Signal(unix.SIGKILL)
		}
		_, _ = pidfd.Wait(dadoos, dadooExitTimeout)
	}
	return nil
}

// openDadoo opens a pidfd on the dadoo of process dir d, if it still
// runs. The pid in dadoo.pid may have been reused since that dadoo died,
// so the process's command line must name d.
func openDadoo(d procdir.Dir) (pidfd.FD, bool) {
	pid, err := d.ReadPid(procdir.DadooPid)
	if err != nil {
		return -1, false
	}
	fd, ok, err := pidfd.Open(pid)
	if err != nil || !ok {
		return -1, false
	}
	cmdline, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	// A dadoo that is just handing over to dadoo-wait is mid-exec for a
	// moment, with no command line yet (as has a zombie, for good).
	for i := 0; err == nil && len(cmdline) == 0 && i < 100 && !fd.Exited(); i++ {
		time.Sleep(time.Millisecond)
		cmdline, err = os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	}
	if err != nil || !bytes.Contains(cmdline, []byte("\x00"+string(d)+"\x00")) && !bytes.HasSuffix(cmdline, []byte("\x00"+string(d))) {
		fd.Close()
		return -1, false
	}
	return fd, true
}
