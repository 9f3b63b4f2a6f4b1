package runtime

import (
	"fmt"
	"os"

	"github.com/opencontainers/runc/libcontainer"
)

// ProcessIO is what a started process is connected to: three files for a
// plain process, or a console socket over which libcontainer sends the
// master end of the new terminal.
type ProcessIO struct {
	Stdin, Stdout, Stderr *os.File
	ConsoleSocket         *os.File
}

// StartProcess starts a prepared process in container h and returns its
// host pid once it runs. The caller becomes its parent (libcontainer
// starts it with CLONE_PARENT) and must reap it. Errors:
// errkind.ContainerNotFound, errkind.ContainerNotRunning,
// errkind.ExecutableNotFound.
func (r *Runtime) StartProcess(h string, p *Prepared, pio ProcessIO) (int, error) {
	c, err := r.load(h)
	if err != nil {
		return 0, err
	}
	proc, err := newProcess(p.Process)
	if err != nil {
		return 0, fmt.Errorf("exec in %q: %w", h, err)
	}
	pio.apply(proc)
	// The profile compiled once, for the bootstrap to load (see
	// takeExecFilter).
	if f := r.execFilter(c.Config().Seccomp); f != nil {
		defer f.Close()
		proc.ExtraFiles = append([]*os.File{f}, proc.ExtraFiles...)
	}
	if err := c.Run(proc); err != nil {
		return 0, fmt.Errorf("exec in %q: %w", h, classifyStartError(notRunning(err)))
	}
	pid, err := proc.Pid()
	if err != nil {
		return 0, fmt.Errorf("exec in %q: %w", h, err)
	}
	return pid, nil
}

// apply connects proc to pio.
func (pio ProcessIO) apply(proc *libcontainer.Process) {
	if pio.ConsoleSocket != nil {
		proc.ConsoleSocket = pio.ConsoleSocket
		return
	}
	proc.Stdin, proc.Stdout, proc.Stderr = pio.Stdin, pio.Stdout, pio.Stderr
}

// StartPea creates pea id from its bundle (a process directory holding
// the config.json that PreparePea made) and starts its process with pio,
// returning its host pid. Like StartProcess, the caller becomes the
// process's parent. A failed start removes the pea's runtime state.
func (r *Runtime) StartPea(id, bundle string, pio ProcessIO) (int, error) {
	_, pid, err := r.createAndRun(id, bundle, pio, createOptions{})
	return pid, err
}
