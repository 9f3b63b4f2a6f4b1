package process

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"syscall"

	"github.com/gdn-dev/gdn/pkg/atomicfile"
	"github.com/gdn-dev/gdn/pkg/crash"
	"github.com/gdn-dev/gdn/pkg/dadoo"
	"github.com/gdn-dev/gdn/pkg/procdir"
	"github.com/gdn-dev/gdn/pkg/runtime"
	"golang.org/x/sys/unix"
)

// Config says how to run processes: which binaries, which runtime root.
type Config struct {
	// DadooPath is the dadoo binary.
	DadooPath string
	// StarterPath is the binary dadoo runs to start the process through
	// libcontainer: gdn-run, whose start-process command does it.
	StarterPath string
	// RuntimeRoot is the runtime state root the containers live in.
	RuntimeRoot string
	// Env is added to this process's environment for dadoo (which hands
	// it on to the starter).
	Env []string
}

// Started is a process that runs under its dadoo.
type Started struct {
	Dir procdir.Dir
	ID  string
	Pid int
	// Stdin is a writer on the process's stdin FIFO, held so that the
	// process cannot see EOF before the caller decides: close it at once
	// for a detached process (its stdin is then at EOF, like </dev/null),
	// or once a client's stdin is attached.
	Stdin *os.File
}

// CrashPoints are the steps of a Run at which a test can kill gdn-run
// exec or dadoo (pkg/crash).
var CrashPoints = []string{
	"gdn-run.exec.procdir", // process directory and FIFOs made, no dadoo yet
	"gdn-run.exec.started", // the process runs under its dadoo; exec has not answered
	"dadoo.started",        // dadoo dies while its process runs
	"dadoo.exited",         // dadoo dies after recording the exit code
}

// Exec prepares spec in container h (runtime.PrepareProcess) and runs it
// under a new dadoo as process id (a random UUID when empty). On failure
// nothing is left: the process directory is removed. Errors:
// errkind.HandleInUse (id in use), errkind.InvalidHandle,
// errkind.ExecutableNotFound, and those of runtime.PrepareProcess.
func Exec(ctx context.Context, rt *runtime.Runtime, cfg Config, h, id string, spec runtime.ExecSpec) (_ *Started, err error) {
	if id == "" {
		id = newID()
	}
	var prepared *runtime.Prepared
	if spec.Pea != nil {
		prepared, err = rt.PreparePea(h, id, spec)
	} else {
		prepared, err = rt.PrepareProcess(h, spec)
	}
	if err != nil {
		return nil, err
	}
	dir, err := procdir.Path(prepared.Bundle, id)
	if err != nil {
		return nil, err
	}
	if err := dir.Create(prepared.HostUID, prepared.HostGID); err != nil {
		return nil, err
	}
	var stdin *os.File
	defer func() {
		if err != nil {
			if stdin != nil {
				stdin.Close()
			}
			dir.Remove()
		}
	}()
	if prepared.Spec != nil {
		// A pea's process directory is its bundle too (reference §1.4).
		data, err := json.Marshal(prepared.Spec)
		if err != nil {
			return nil, err
		}
		if err := atomicfile.WriteFile(dir.File("config.json"), data, 0o600); err != nil {
			return nil, err
		}
	}
	fd, err := unix.Open(dir.File(procdir.Stdin), unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open stdin of %q: %w", id, err)
	}
	stdin = os.NewFile(uintptr(fd), dir.File(procdir.Stdin))
	crash.Point("gdn-run.exec.procdir")
	pid, err := spawn(cfg, h, dir, prepared)
	if err != nil {
		return nil, err
	}
	crash.Point("gdn-run.exec.started")
	return &Started{Dir: dir, ID: id, Pid: pid, Stdin: stdin}, nil
}

// spawn starts dadoo detached and waits for its sync message.
func spawn(cfg Config, h string, dir procdir.Dir, prepared *runtime.Prepared) (int, error) {
	spec, err := json.Marshal(prepared)
	if err != nil {
		return 0, err
	}
	log, err := os.OpenFile(dir.File(procdir.DadooLog), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return 0, err
	}
	defer log.Close()
	syncR, syncW, err := os.Pipe()
	if err != nil {
		return 0, err
	}
	defer syncR.Close()
	specR, specW, err := os.Pipe()
	if err != nil {
		syncW.Close()
		return 0, err
	}
	defer specR.Close()
	cmd := exec.Command(cfg.DadooPath, dadoo.Args(cfg.StarterPath, cfg.RuntimeRoot, h, dir, prepared.Pea)...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = specR, log, log
	if cfg.Env != nil {
		cmd.Env = append(os.Environ(), cfg.Env...)
	}
	cmd.ExtraFiles = []*os.File{syncW}
	// Its own session: dadoo must survive the death of whoever started
	// it, and signals sent to the caller's process group.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	err = cmd.Start()
	syncW.Close()
	if err != nil {
		specW.Close()
		return 0, fmt.Errorf("start dadoo: %w", err)
	}
	// dadoo lives on after us; its exit status is not ours to collect.
	go cmd.Wait()
	_, werr := specW.Write(spec)
	specW.Close()
	if werr != nil {
		return 0, fmt.Errorf("send process to dadoo: %w", werr)
	}
	return dadoo.ReadSync(syncR)
}

// newID returns a random version 4 UUID, Guardian's form of process id.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
