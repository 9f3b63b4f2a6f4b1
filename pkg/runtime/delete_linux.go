package runtime

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/gdn-dev/gdn/pkg/errkind"
	"github.com/gdn-dev/gdn/pkg/handle"
	"github.com/gdn-dev/gdn/pkg/procdir"
	"github.com/opencontainers/cgroups"
	"github.com/opencontainers/cgroups/manager"
	"github.com/opencontainers/runc/libcontainer"
	"golang.org/x/sys/unix"
)

// initExitTimeout bounds the wait for a SIGKILLed init to exit. A process
// stuck in uninterruptible sleep (D state) is the only thing that can take
// this long; Delete then fails and can be retried.
const initExitTimeout = 30 * time.Second

// Delete kills container h's init (which takes every process of its pid
// namespace with it), waits for it to exit, ends the processes' dadoos and
// removes their process directories, and removes the container's cgroup
// and state. It is idempotent: existed is false, and err nil, when
// there was nothing to delete. State left by a create that was killed
// midway (a state directory without state.json, a cgroup without state) is
// removed too.
func (r *Runtime) Delete(ctx context.Context, h string) (existed bool, err error) {
	if err := handle.Validate(h); err != nil {
		return false, err
	}
	c, err := r.load(h)
	if errkind.Of(err) == errkind.ContainerNotFound {
		return r.removeOrphan(h)
	}
	if err != nil {
		// Unreadable state: treat it as an orphan rather than block
		// the teardown forever.
		r.log.Warn("state unreadable, removing as orphan", "error", err)
		return r.removeOrphan(h)
	}
	if err := r.killInit(c); err != nil {
		return true, err
	}
	st, err := c.State()
	if err != nil {
		return true, fmt.Errorf("state of %q: %w", h, err)
	}
	bundle := bundleOf(st.Config.Labels)
	if err := r.deletePeas(ctx, bundle); err != nil {
		return true, err
	}
	if err := r.removeProcesses(bundle); err != nil {
		return true, err
	}
	if err := c.Destroy(); err != nil {
		return true, fmt.Errorf("delete %q: %w", h, err)
	}
	r.log.Info("deleted")
	return true, nil
}

// killInit SIGKILLs the init of c, if it runs, and waits for it to exit.
func (r *Runtime) killInit(c *libcontainer.Container) error {
	st, err := c.State()
	if err != nil {
		return fmt.Errorf("state of %q: %w", c.ID(), err)
	}
	status, err := c.Status()
	if err != nil {
		return fmt.Errorf("status of %q: %w", c.ID(), err)
	}
	if status == libcontainer.Stopped {
		return nil
	}
	fd, ok, err := openPidfd(st.InitProcessPid)
	if err != nil || !ok {
		return err
	}
	defer fd.close()
	// The pidfd was opened after Status proved the pid is still the
	// init (libcontainer compares start times), so it cannot name a
	// recycled pid. libcontainer's Signal also thaws a frozen cgroup.
	if err := c.Signal(unix.SIGKILL); err != nil && !errors.Is(err, libcontainer.ErrNotRunning) {
		return fmt.Errorf("kill init of %q: %w", c.ID(), err)
	}
	exited, err := waitExit([]pidfd{fd}, initExitTimeout)
	if err != nil {
		return fmt.Errorf("wait for init of %q: %w", c.ID(), err)
	}
	if !exited {
		return fmt.Errorf("init of %q did not exit %v after SIGKILL", c.ID(), initExitTimeout)
	}
	return nil
}

// deletePeas deletes the runtime containers of the container's peas:
// process directories holding a config.json. Their cgroups are nested in
// the container's, which cannot go before them.
func (r *Runtime) deletePeas(ctx context.Context, bundle string) error {
	if bundle == "" {
		return nil
	}
	ids, err := procdir.List(bundle)
	if err != nil {
		return fmt.Errorf("processes of %q: %w", bundle, err)
	}
	for _, id := range ids {
		d, err := procdir.Path(bundle, id)
		if err != nil {
			continue
		}
		if _, err := os.Stat(d.File("config.json")); err != nil {
			continue
		}
		if _, err := r.Delete(ctx, id); err != nil {
			return fmt.Errorf("delete pea %q: %w", id, err)
		}
	}
	return nil
}

// removeOrphan removes what a half-made container can leave: its state
// directory and its cgroup under the cgroup parent, killing anything still
// in that cgroup.
func (r *Runtime) removeOrphan(h string) (bool, error) {
	existed := false
	dir := filepath.Join(r.root, h)
	if _, err := os.Lstat(dir); err == nil {
		existed = true
		if err := os.RemoveAll(dir); err != nil {
			return true, fmt.Errorf("remove state of %q: %w", h, err)
		}
	}
	m, err := manager.New(&cgroups.Cgroup{
		Path:      filepath.Join(r.cgroupParent, h),
		Resources: &cgroups.Resources{},
	})
	if err != nil {
		return existed, fmt.Errorf("cgroup of %q: %w", h, err)
	}
	if !m.Exists() {
		return existed, nil
	}
	pids, _ := m.GetAllPids()
	for _, pid := range pids {
		_ = unix.Kill(pid, unix.SIGKILL)
	}
	if err := m.Destroy(); err != nil {
		return true, fmt.Errorf("remove cgroup of %q: %w", h, err)
	}
	r.log.Info("removed orphan")
	return true, nil
}
