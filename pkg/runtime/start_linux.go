package runtime

import (
	"fmt"
	"os"
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
	if pio.ConsoleSocket != nil {
		proc.ConsoleSocket = pio.ConsoleSocket
	} else {
		proc.Stdin, proc.Stdout, proc.Stderr = pio.Stdin, pio.Stdout, pio.Stderr
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
