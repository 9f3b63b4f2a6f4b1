package dadoo

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/gdn-dev/gdn/pkg/procdir"
	"github.com/gdn-dev/gdn/pkg/runtime"
	"golang.org/x/sys/unix"
)

// lingerPoll is how often a dadoo whose process has exited checks whether
// its unread output has been read. Only a dadoo holding unread output
// polls; it is not on any latency path.
const lingerPoll = 100 * time.Millisecond

// MonitorConfig is what a dadoo process is given.
type MonitorConfig struct {
	Runtime *runtime.Runtime
	Handle  string
	Dir     procdir.Dir
	// Spec carries the prepared process (JSON, from Launch).
	Spec io.Reader
	// Sync receives the start message; it is closed once sent.
	Sync io.WriteCloser
	Log  *slog.Logger
}

// Monitor runs one process to its end: start, record, reap, linger. It
// returns the process's exit status. An error before the process started
// has been reported on Sync.
func Monitor(cfg MonitorConfig) (status int, err error) {
	d := cfg.Dir
	started := false
	defer func() {
		if !started {
			_ = writeSync(cfg.Sync, 0, err)
			cfg.Sync.Close()
		}
	}()
	if err := d.WritePid(procdir.DadooPid, os.Getpid()); err != nil {
		return 0, err
	}
	var prepared runtime.Prepared
	if err := json.NewDecoder(cfg.Spec).Decode(&prepared); err != nil || prepared.Process == nil {
		return 0, fmt.Errorf("read process spec: %v", err)
	}
	// Held for as long as the process runs: EOF on exit tells waiters
	// that the exit code is written.
	exitKeep, err := openRaw(d.File(procdir.Exit), unix.O_RDWR)
	if err != nil {
		return 0, err
	}
	var pipes *stdio
	if prepared.Process.Terminal {
		pipes, err = openTTY(d)
	} else {
		pipes, err = openPlain(d)
	}
	if err != nil {
		return 0, err
	}
	defer pipes.close()
	pid, err := cfg.Runtime.StartProcess(cfg.Handle, &prepared, pipes.pio)
	if err != nil {
		return 0, err
	}
	if err := d.WritePid(procdir.Pidfile, pid); err != nil {
		return 0, err
	}
	if err := pipes.started(prepared.Process.ConsoleSize); err != nil {
		unix.Kill(pid, unix.SIGKILL)
		return 0, err
	}
	started = true
	_ = writeSync(cfg.Sync, pid, nil)
	cfg.Sync.Close()
	cfg.Log.Info("started", "pid", pid)

	status, err = waitExit(pid)
	if err != nil {
		return 0, err
	}
	pipes.drain()
	if err := d.WriteExitCode(status); err != nil {
		cfg.Log.Error("write exit code", "error", err)
	}
	reap(pid)
	exitKeep.Close()
	cfg.Log.Info("exited", "status", status)
	pipes.linger(d)
	return status, nil
}

// openRaw opens a FIFO as a plain blocking file, outside Go's poller: it
// is handed to the process as-is, and O_NONBLOCK on it would leak into
// the process.
func openRaw(path string, flags int) (*os.File, error) {
	fd, err := unix.Open(path, flags|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	return os.NewFile(uintptr(fd), path), nil
}

// waitExit blocks until pid exits and returns its status (128+signal when
// killed by a signal) without reaping it: the exit code must be on disk
// before the pid can be reused.
func waitExit(pid int) (int, error) {
	for {
		var info unix.Siginfo
		err := unix.Waitid(unix.P_PID, pid, &info, unix.WEXITED|unix.WNOWAIT, nil)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return 0, fmt.Errorf("wait for %d: %w", pid, err)
		}
		return siginfoStatus(&info), nil
	}
}

// reap collects pid's zombie.
func reap(pid int) {
	var ws unix.WaitStatus
	for {
		if _, err := unix.Wait4(pid, &ws, 0, nil); !errors.Is(err, unix.EINTR) {
			return
		}
	}
}
