package runtime

import (
	"context"
	"fmt"
	"github.com/gdn-dev/gdn/pkg/pidfd"
	"os"
	"path/filepath"
	"time"

	"github.com/gdn-dev/gdn/pkg/atomicfile"
	"github.com/gdn-dev/gdn/pkg/errkind"
	"github.com/opencontainers/runc/libcontainer"
	"golang.org/x/sys/unix"
)

// StopGrace is how long Stop lets processes handle SIGTERM before it sends
// SIGKILL (Garden's documented "SIGTERM, wait up to 10 s, then SIGKILL").
const StopGrace = 10 * time.Second

// killGrace bounds the wait for SIGKILLed processes to go.
const killGrace = 10 * time.Second

// Stop ends every process of container h except its init: SIGTERM and up
// to StopGrace for them to exit, then SIGKILL (only SIGKILL if kill is
// set). The init stays, so the container can still run processes; it is
// then marked stopped (State.Stopped). Like Guardian, processes that
// survive even SIGKILL (D state) are logged, not an error. Errors:
// errkind.ContainerNotFound.
func (r *Runtime) Stop(ctx context.Context, h string, kill bool) error {
	c, st, err := r.loadState(h)
	if err != nil {
		return err
	}
	if !kill {
		if err := signalAllButInit(ctx, c, st.InitProcessPid, unix.SIGTERM, StopGrace); err != nil {
			return fmt.Errorf("stop %q: %w", h, err)
		}
	}
	if err := signalAllButInit(ctx, c, st.InitProcessPid, unix.SIGKILL, killGrace); err != nil {
		return fmt.Errorf("stop %q: %w", h, err)
	}
	marker := filepath.Join(r.root, h, stoppedMarker)
	// (in the runtime root, which describes this boot only: no fsync)
	if err := atomicfile.Replace(marker, nil, 0o600); err != nil {
		return fmt.Errorf("mark %q stopped: %w", h, err)
	}
	r.log.Info("stopped", "kill", kill)
	return nil
}

// signalAllButInit sends sig to every process in c's cgroup but init and
// waits up to grace for them to exit. Processes forked meanwhile are
// signalled too: the cgroup is listed again after each wave.
func signalAllButInit(ctx context.Context, c *libcontainer.Container, initPid int, sig unix.Signal, grace time.Duration) error {
	deadline := time.Now().Add(grace)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		pids, err := c.Processes()
		if err != nil {
			return err
		}
		var fds []pidfd.FD
		for _, pid := range pids {
			if pid == initPid || pid == os.Getpid() {
				continue
			}
			fd, ok, err := pidfd.Open(pid)
			if err != nil || !ok {
				continue
			}
			_ = fd.Signal(sig)
			fds = append(fds, fd)
		}
		if len(fds) == 0 {
			return nil
		}
		_, err = pidfd.Wait(fds, time.Until(deadline))
		for _, fd := range fds {
			fd.Close()
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// Kill sends sig to container h's init, or with all to every process in
// its cgroup. A signal the init would not get is refused with
// errkind.InvalidSpec before anything is sent: the init is pid 1 of its
// namespace and the kernel discards every signal it has no handler for,
// but KILL (the sleeping init has none, so TERM, the default of gdn-run
// kill, would do nothing and look like success). Errors:
// errkind.ContainerNotFound, errkind.ContainerNotRunning,
// errkind.InvalidSpec.
func (r *Runtime) Kill(h string, sig unix.Signal, all bool) error {
	c, st, err := r.loadState(h)
	if err != nil {
		return err
	}
	if all {
		pids, err := c.Processes()
		if err != nil {
			return fmt.Errorf("processes of %q: %w", h, err)
		}
		for _, pid := range pids {
			if fd, ok, err := pidfd.Open(pid); err == nil && ok {
				_ = fd.Signal(sig)
				fd.Close()
			}
		}
		return nil
	}
	if pid := st.InitProcessPid; pid > 0 {
		status, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
		if initDrops(string(status), sig) {
			return fmt.Errorf("container %q: its init (pid %d) ignores %s (pid 1 of its namespace, no handler), nothing sent: "+
				"end the container with KILL (gdn-run kill %s KILL), or its processes with gdn-run stop %s: %w",
				h, pid, unix.SignalName(sig), h, h, errkind.InvalidSpec)
		}
	}
	if err := c.Signal(sig); err != nil {
		return fmt.Errorf("signal %q: %w", h, notRunning(err))
	}
	return nil
}
