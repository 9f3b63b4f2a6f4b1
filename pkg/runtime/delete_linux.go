package runtime

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/gdn-dev/gdn/pkg/crash"
	"github.com/gdn-dev/gdn/pkg/errkind"
	"github.com/gdn-dev/gdn/pkg/handle"
	"github.com/gdn-dev/gdn/pkg/pidfd"
	"github.com/gdn-dev/gdn/pkg/procdir"
	"github.com/opencontainers/runc/libcontainer"
	"golang.org/x/sys/unix"
)

// initExitTimeout bounds the wait for a SIGKILLed init to exit. A process
// stuck in uninterruptible sleep (D state) is the only thing that can take
// this long; Delete then fails and can be retried.
const initExitTimeout = 30 * time.Second

// Delete kills container h's init (which takes every process of its pid
// namespace with it), waits for it to exit, sees that every process has
// its exit status recorded (137 for those it killed), deletes the peas'
// runtime containers, ends the processes' dadoos, and removes the
// container's cgroup and state. The process directories, with their exit
// statuses, stay for waiters to read; they go with the bundle. It is idempotent: existed is false, and err nil, when
// there was nothing to delete. State left by a create that was killed
// midway (a state directory without state.json, the cgroup it recorded,
// in whichever hierarchies it got to) is removed too. A container, or a
// cgroup, outside this runtime's cgroup parent is refused (InvalidSpec):
// it is another gdn instance's.
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
	st, err := c.State()
	if err != nil {
		return true, fmt.Errorf("state of %q: %w", h, err)
	}
	// A container under another cgroup parent is another instance's
	// (its runtime root given without its GDN_TAG): not ours to kill.
	if cg := st.Config.Cgroups; cg != nil && cg.Path != "" {
		if err := r.cgroupPathOf(h, cg.Path); err != nil {
			return true, fmt.Errorf("delete %q: %w", h, err)
		}
	}
	if err := r.killInit(c); err != nil {
		return true, err
	}
	crash.Point("gdn-run.delete.killed")
	bundle := bundleOf(st.Config.Labels)
	if err := r.recordExits(bundle); err != nil {
		return true, err
	}
	if err := r.deletePeas(ctx, bundle); err != nil {
		return true, err
	}
	crash.Point("gdn-run.delete.peas")
	if err := r.endDadoos(bundle); err != nil {
		return true, err
	}
	crash.Point("gdn-run.delete.processes")
	// The loaded state names the cgroup libcontainer made; remove it in
	// every hierarchy (with anything left in it) before the state goes.
	if cg := st.Config.Cgroups; cg != nil && cg.Path != "" {
		if _, err := removeCgroup(cg.Path); err != nil {
			return true, fmt.Errorf("delete %q: %w", h, err)
		}
	}
	crash.Point("gdn-run.delete.cgroup")
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
	fd, ok, err := pidfd.Open(st.InitProcessPid)
	if err != nil || !ok {
		return err
	}
	defer fd.Close()
	// The pidfd was opened after Status proved the pid is still the
	// init (libcontainer compares start times), so it cannot name a
	// recycled pid. libcontainer's Signal also thaws a frozen cgroup.
	if err := c.Signal(unix.SIGKILL); err != nil && !errors.Is(err, libcontainer.ErrNotRunning) {
		return fmt.Errorf("kill init of %q: %w", c.ID(), err)
	}
	exited, err := pidfd.Wait([]pidfd.FD{fd}, initExitTimeout)
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

// removeOrphan removes what a half-made container leaves, a state
// directory without loadable state: the cgroup recorded in it (with every
// process still in it) in every hierarchy, then the directory, in that
// order so that a Delete killed midway leaves the record for the next. A
// cgroup that no record names is not this runtime's and is left alone,
// whatever its name.
func (r *Runtime) removeOrphan(h string) (bool, error) {
	dir := filepath.Join(r.root, h)
	if _, err := os.Lstat(dir); errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	p, err := readCgroupRecord(dir)
	if err != nil {
		return true, fmt.Errorf("state of %q: %w", h, err)
	}
	if p != "" {
		if err := r.cgroupPathOf(h, p); err != nil {
			// Not ours to remove; the state directory still goes.
			r.log.Warn("recorded cgroup left alone", "error", err)
		} else if _, err := removeCgroup(p); err != nil {
			return true, fmt.Errorf("delete %q: %w", h, err)
		}
	}
	crash.Point("gdn-run.delete.orphan-cgroup")
	if err := os.RemoveAll(dir); err != nil {
		return true, fmt.Errorf("remove state of %q: %w", h, err)
	}
	r.log.Info("removed orphan")
	return true, nil
}
