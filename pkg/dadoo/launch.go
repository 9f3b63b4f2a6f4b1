package dadoo

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"syscall"

	"github.com/gdn-dev/gdn/pkg/procdir"
	"github.com/gdn-dev/gdn/pkg/runtime"
	"golang.org/x/sys/unix"
)

// LaunchConfig says which process to start under which dadoo.
type LaunchConfig struct {
	// DadooPath is the dadoo binary.
	DadooPath string
	// RuntimeRoot is the runtime state root the container lives in.
	RuntimeRoot string
	// Handle is the container.
	Handle string
	// ID is the process id; it names the process directory.
	ID string
	// Process is the process to start, from runtime.PrepareProcess.
	Process *runtime.Prepared
}

// Started is a process that runs under its dadoo.
type Started struct {
	Dir procdir.Dir
	Pid int
	// Stdin is a writer on the process's stdin FIFO, held so that the
	// process cannot see EOF before the caller decides: close it at once
	// for a detached process (its stdin is then at EOF, like
	// </dev/null), or keep it until a client's stdin is attached.
	Stdin *os.File
}

// Launch creates the process directory and starts the process under a new
// dadoo, returning once the process runs. On failure nothing is left: the
// directory is removed. Errors: errkind.HandleInUse (process id in use),
// errkind.InvalidHandle, errkind.ExecutableNotFound, and the kinds of
// runtime.StartProcess.
func Launch(ctx context.Context, cfg LaunchConfig) (_ *Started, err error) {
	dir, err := procdir.Path(cfg.Process.Bundle, cfg.ID)
	if err != nil {
		return nil, err
	}
	if err := dir.Create(cfg.Process.HostUID, cfg.Process.HostGID); err != nil {
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
	fd, err := unix.Open(dir.File(procdir.Stdin), unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open stdin of %q: %w", cfg.ID, err)
	}
	stdin = os.NewFile(uintptr(fd), dir.File(procdir.Stdin))
	pid, err := spawn(ctx, cfg, dir)
	if err != nil {
		return nil, err
	}
	return &Started{Dir: dir, Pid: pid, Stdin: stdin}, nil
}

// spawn starts dadoo detached and waits for its sync message.
func spawn(ctx context.Context, cfg LaunchConfig, dir procdir.Dir) (int, error) {
	spec, err := json.Marshal(cfg.Process)
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
	cmd := exec.Command(cfg.DadooPath, "--runtime-root", cfg.RuntimeRoot, "exec", cfg.Handle, string(dir))
	cmd.Stdin, cmd.Stdout, cmd.Stderr = specR, log, log
	cmd.ExtraFiles = []*os.File{syncW}
	// Its own session: dadoo must survive the death of whoever started
	// it, and signals to the caller's process group.
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
	return readSync(syncR)
}

// ExecConfig is a process to run in a container under dadoo.
type ExecConfig struct {
	DadooPath string
	Handle    string
	// ID names the process; a random UUID when empty.
	ID   string
	Spec runtime.ExecSpec
}

// Exec prepares cfg.Spec in the container and launches it under dadoo:
// runtime.PrepareProcess, then Launch. See both for the errors.
func Exec(ctx context.Context, rt *runtime.Runtime, cfg ExecConfig) (*Started, error) {
	prepared, err := rt.PrepareProcess(cfg.Handle, cfg.Spec)
	if err != nil {
		return nil, err
	}
	id := cfg.ID
	if id == "" {
		id = newID()
	}
	return Launch(ctx, LaunchConfig{
		DadooPath:   cfg.DadooPath,
		RuntimeRoot: rt.Root(),
		Handle:      cfg.Handle,
		ID:          id,
		Process:     prepared,
	})
}

// newID returns a random version 4 UUID, Guardian's form of process id.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
