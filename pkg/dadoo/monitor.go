package dadoo

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/gdn-dev/gdn/pkg/crash"
	"github.com/gdn-dev/gdn/pkg/pidfd"
	"github.com/gdn-dev/gdn/pkg/procdir"
	"golang.org/x/sys/unix"
)

// MonitorConfig is what a dadoo process is given.
type MonitorConfig struct {
	// Starter is the command that starts the process (argv): gdn-run
	// start-process. It gets the prepared process on stdin and the
	// process's stdio, or a console socket, as fds 3, 4 and 5.
	Starter []string
	// Cleanup, if set, runs after the process has exited and been
	// reaped: a pea's runtime container is deleted this way.
	Cleanup []string
	Dir     procdir.Dir
	// Spec is the prepared process, as JSON.
	Spec []byte
	// Sync receives the start message; it is closed once sent.
	Sync *os.File
	Log  *slog.Logger
	// Wait, if set, is dadoo-wait (cmd/dadoo-wait): once a process
	// without a terminal has run handOffAfter, dadoo execs it to do the
	// waiting in a process of some KiB instead of a Go runtime's MiB.
	// WaitArgv is its
	// command line after the -wait-* arguments dadoo adds: argv[0] and
	// dadoo's own arguments (Args), which name the process directory.
	// Without it, or if the exec fails, dadoo waits itself.
	Wait     string
	WaitArgv []string
}

// terminalOf reads the only fields of a prepared process dadoo needs.
func terminalOf(spec []byte) (tty bool, size *procdir.WindowSize, err error) {
	var p struct {
		Process struct {
			Terminal    bool `json:"terminal"`
			ConsoleSize *struct {
				Height uint16 `json:"height"`
				Width  uint16 `json:"width"`
			} `json:"consoleSize"`
		} `json:"process"`
	}
	if err := json.Unmarshal(spec, &p); err != nil {
		return false, nil, fmt.Errorf("read process spec: %w", err)
	}
	if cs := p.Process.ConsoleSize; cs != nil {
		size = &procdir.WindowSize{Columns: cs.Width, Rows: cs.Height}
	}
	return p.Process.Terminal, size, nil
}

// Monitor runs one process to its end: start, report, wait, record, reap,
// linger. It returns the process's exit status. An error before the
// process started has been reported on Sync.
func Monitor(cfg MonitorConfig) (status int, err error) {
	d := cfg.Dir
	started, made := false, false
	defer func() {
		if !started {
			_ = WriteSync(cfg.Sync, 0, err)
			cfg.Sync.Close()
			// A starter that succeeded made a pea's runtime
			// container; no process dir will be left to find it by,
			// so it goes now. (One that failed made nothing: the id
			// may even be another container's.)
			if made {
				cleanup(cfg)
			}
		}
	}()
	if err := d.WritePid(procdir.DadooPid, os.Getpid()); err != nil {
		return 0, err
	}
	tty, size, err := terminalOf(cfg.Spec)
	if err != nil {
		return 0, err
	}
	// The starter exits once the process runs; as a subreaper dadoo
	// then inherits the process, as runc's callers do with --detach.
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		return 0, fmt.Errorf("become subreaper: %w", err)
	}
	// Held for as long as the process runs: EOF on exit tells waiters
	// that the exit code is written.
	exitKeep, err := openRaw(d.File(procdir.Exit), unix.O_RDWR)
	if err != nil {
		return 0, err
	}
	var pipes *stdio
	if tty {
		pipes, err = openTTY(d)
	} else {
		pipes, err = openPlain(d)
	}
	if err != nil {
		return 0, err
	}
	defer pipes.close()
	pid, made, err := runStarter(cfg.Starter, cfg.Spec, pipes.childSide)
	if err != nil {
		return 0, err
	}
	if err := d.WritePid(procdir.Pidfile, pid); err != nil {
		killReap(pid)
		return 0, err
	}
	if err := pipes.started(size); err != nil {
		killReap(pid)
		return 0, err
	}
	started = true
	_ = WriteSync(cfg.Sync, pid, nil)
	cfg.Sync.Close()
	cfg.Log.Info("started", "pid", pid)
	crash.Point("dadoo.started")
	if cfg.Wait != "" && !tty && !exitsWithin(pid, handOffAfter) {
		err := handOff(cfg, pid, append([]*os.File{exitKeep}, pipes.outs...))
		cfg.Log.Warn("hand-off to dadoo-wait failed: waiting here", "error", err)
	}

	status, err = waitExit(pid)
	if err != nil {
		return 0, err
	}
	pipes.drain()
	if err := d.WriteExitCode(status); err != nil {
		cfg.Log.Error("write exit code", "error", err)
	}
	crash.Point("dadoo.exited")
	reap(pid)
	cleanup(cfg)
	exitKeep.Close()
	cfg.Log.Info("exited", "status", status)
	pipes.linger(d)
	return status, nil
}

// handOffAfter is how long a process runs before dadoo hands it to
// dadoo-wait. Memory matters for the processes that run long; a short one
// (a health check, a Run of /bin/true) ends under dadoo itself, and its
// exit status is not delayed by an exec.
const handOffAfter = 100 * time.Millisecond

// exitsWithin waits up to d for pid (a child, not reaped) to exit, and
// tells whether it did.
func exitsWithin(pid int, d time.Duration) bool {
	fd, ok, err := pidfd.Open(pid)
	if err != nil || !ok {
		return false
	}
	defer fd.Close()
	exited, err := pidfd.Wait([]pidfd.FD{fd}, d)
	return err == nil && exited
}

// handOff execs cfg.Wait to monitor pid from here on, with keep (the
// exit FIFO, stdout, stderr) inherited. It returns only if the exec
// failed, with keep as it was.
func handOff(cfg MonitorConfig, pid int, keep []*os.File) error {
	fds := make([]string, len(keep))
	for i, f := range keep {
		fds[i] = strconv.Itoa(int(f.Fd()))
	}
	argv := append([]string{cfg.WaitArgv[0], "-wait-pid", strconv.Itoa(pid), "-wait-fds", strings.Join(fds, ",")}, cfg.WaitArgv[1:]...)
	inherit := func(on bool) error {
		flag := unix.FD_CLOEXEC
		if on {
			flag = 0
		}
		for _, f := range keep {
			if _, err := unix.FcntlInt(f.Fd(), unix.F_SETFD, flag); err != nil {
				return err
			}
		}
		return nil
	}
	err := inherit(true)
	if err == nil {
		err = unix.Exec(cfg.Wait, argv, os.Environ())
	}
	_ = inherit(false)
	return fmt.Errorf("exec %s: %w", cfg.Wait, err)
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

// cleanup runs cfg.Cleanup, if any (idempotent: a pea's delete).
func cleanup(cfg MonitorConfig) {
	if len(cfg.Cleanup) == 0 {
		return
	}
	if out, err := exec.Command(cfg.Cleanup[0], cfg.Cleanup[1:]...).CombinedOutput(); err != nil {
		cfg.Log.Error("cleanup", "error", err, "output", string(out))
	}
}

// killReap kills a started process that cannot be monitored, and reaps it.
func killReap(pid int) {
	_ = unix.Kill(pid, unix.SIGKILL)
	reap(pid)
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
