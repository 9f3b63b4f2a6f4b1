package runtime

import (
	"bytes"
	"errors"
	"fmt"
	"github.com/gdn-dev/gdn/pkg/pidfd"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	goruntime "runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gdn-dev/gdn/pkg/atomicfile"
	"github.com/gdn-dev/gdn/pkg/errkind"
	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"
)

// cgroupRecord is gdn's file in a container's state directory naming the
// cgroup Create is about to make. It is written before any cgroup exists,
// so a state directory holding it is the proof that this runtime made
// that cgroup: a Delete without loadable state removes only a recorded
// cgroup, never one that merely has the same name (another gdn
// instance's container of the same handle).
const cgroupRecord = "gdn-cgroup"

// cgroupRemoveTimeout bounds how long removeCgroup keeps killing and
// retrying; only a process stuck in uninterruptible sleep takes long.
const cgroupRemoveTimeout = 30 * time.Second

// cgroupPathOf checks a container's cgroup path: it must be the id's own
// cgroup below this runtime's cgroup parent (parent/id, or parent/h/id for
// a pea nested in container h), so that nothing this runtime removes can
// be another instance's or the parent itself.
func (r *Runtime) cgroupPathOf(id, p string) error {
	if p != path.Clean(p) || !strings.HasPrefix(p, r.cgroupParent+"/") || path.Base(p) != id {
		return fmt.Errorf("cgroup path %q of %q is not its own cgroup under this runtime's cgroup parent %q (gdn-depot and gdn-run must share GDN_TAG): %w",
			p, id, r.cgroupParent, errkind.InvalidSpec)
	}
	return nil
}

// writeCgroupRecord notes the cgroup a container is about to get, in its
// state dir. Like everything in the runtime root, it describes this boot
// only (cgroups do not outlive the host), so it is not fsynced.
func writeCgroupRecord(stateDir, p string) error {
	return atomicfile.Replace(filepath.Join(stateDir, cgroupRecord), []byte(p+"\n"), 0o600)
}

// readCgroupRecord returns the recorded cgroup path ("" if none).
func readCgroupRecord(stateDir string) (string, error) {
	b, err := os.ReadFile(filepath.Join(stateDir, cgroupRecord))
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	return strings.TrimSpace(string(b)), err
}

// cgroupMounts returns the mount points of every cgroup hierarchy on the
// host: each v1 controller's, named ones (name=systemd), and the v2
// hierarchy, whether it is the only one or mounted beside v1 (hybrid).
//
// It reads this thread's view: /proc/self is the main thread's, which
// libcontainer may have left in another mount namespace (a goroutine that
// ends locked to the main thread wedges it there rather than exiting it).
//
// The usual layout, every hierarchy mounted right below /sys/fs/cgroup (a
// tmpfs), or cgroup2 on it, is read from there: mountinfo costs time in
// proportion to every mount on the host, container root filesystems
// among them (3-4 ms a read with 1000 containers). Any other layout is
// read from mountinfo.
func cgroupMounts() ([]string, error) {
	goruntime.LockOSThread()
	defer goruntime.UnlockOSThread()
	if mounts, ok := cgroupMountsBelow(cgroupRoot); ok {
		return mounts, nil
	}
	return cgroupMountsFromMountinfo()
}

// cgroupRoot is where hierarchies are mounted in the usual layout.
const cgroupRoot = "/sys/fs/cgroup"

// cgroupMountsBelow returns root itself if it is a cgroup2 mount, or else
// the directories right below a tmpfs root that are cgroup or cgroup2
// mount points (not the symlinks beside them, as cpu -> cpu,cpuacct); ok
// is false if root is neither or holds no hierarchy.
func cgroupMountsBelow(root string) (_ []string, ok bool) {
	var fs unix.Statfs_t
	if err := unix.Statfs(root, &fs); err != nil {
		return nil, false
	}
	switch fs.Type {
	case unix.CGROUP2_SUPER_MAGIC:
		return []string{root}, true
	case unix.TMPFS_MAGIC:
	default:
		return nil, false
	}
	var rootSt unix.Stat_t
	if err := unix.Lstat(root, &rootSt); err != nil {
		return nil, false
	}
	entries, err := os.ReadDir(root)
	if err != nil {
		return nil, false
	}
	var mounts []string
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		p := filepath.Join(root, e.Name())
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil || st.Dev == rootSt.Dev {
			continue // not a mount point
		}
		if err := unix.Statfs(p, &fs); err == nil && (fs.Type == unix.CGROUP_SUPER_MAGIC || fs.Type == unix.CGROUP2_SUPER_MAGIC) {
			mounts = append(mounts, p)
		}
	}
	return mounts, len(mounts) > 0
}

// cgroupMountsFromMountinfo is cgroupMounts for any layout. The caller
// holds its OS thread.
func cgroupMountsFromMountinfo() ([]string, error) {
	b, err := os.ReadFile("/proc/thread-self/mountinfo")
	if err != nil {
		return nil, err
	}
	infos, err := mountinfo.GetMountsFromReader(bytes.NewReader(b), mountinfo.FSTypeFilter("cgroup", "cgroup2"))
	if err != nil {
		return nil, err
	}
	var mounts []string
	for _, i := range infos {
		if !slices.Contains(mounts, i.Mountpoint) {
			mounts = append(mounts, i.Mountpoint)
		}
	}
	return mounts, nil
}

// cgroupDirs returns the directories of cgroup p that exist, one per
// hierarchy.
func cgroupDirs(p string) ([]string, error) {
	mounts, err := cgroupMounts()
	if err != nil {
		return nil, fmt.Errorf("cgroup mounts: %w", err)
	}
	var dirs []string
	for _, m := range mounts {
		d := filepath.Join(m, p)
		if st, err := os.Lstat(d); err == nil && st.IsDir() {
			dirs = append(dirs, d)
		}
	}
	return dirs, nil
}

// removeCgroup removes cgroup p, and any cgroup nested in it, from every
// hierarchy, killing the processes in it, and reports whether any of it
// existed. The caller has checked that p is its own (cgroupPathOf).
func removeCgroup(p string) (bool, error) {
	dirs, err := cgroupDirs(p)
	if err != nil || len(dirs) == 0 {
		return false, err
	}
	deadline := time.Now().Add(cgroupRemoveTimeout)
	for {
		if err := killCgroup(p, dirs, time.Until(deadline)); err != nil {
			return true, err
		}
		busy, err := rmdirTrees(dirs)
		if err != nil {
			return true, err
		}
		if !busy {
			return true, nil
		}
		// A process forked in before the kill reached its parent: kill
		// again. Bounded, for one that cannot die.
		if time.Now().After(deadline) {
			return true, fmt.Errorf("remove cgroup %q: still busy after %v", p, cgroupRemoveTimeout)
		}
	}
}

// killCgroup thaws the cgroup trees in dirs, SIGKILLs every process in
// them and waits for those to exit.
func killCgroup(p string, dirs []string, timeout time.Duration) error {
	pids := map[int]bool{}
	for _, d := range dirs {
		thaw(d)
		_ = filepath.WalkDir(d, func(path string, e fs.DirEntry, err error) error {
			if err != nil || !e.IsDir() {
				return nil
			}
			for _, pid := range readPids(filepath.Join(path, "cgroup.procs")) {
				pids[pid] = true
			}
			return nil
		})
	}
	var fds []pidfd.FD
	defer func() {
		for _, fd := range fds {
			fd.Close()
		}
	}()
	for pid := range pids {
		fd, ok, err := pidfd.Open(pid)
		if err != nil || !ok {
			continue
		}
		// The pidfd pins the process; if the pid was reused since the
		// cgroup listed it, the new process is elsewhere: leave it.
		if !inCgroup(pid, p) {
			fd.Close()
			continue
		}
		fds = append(fds, fd)
		if err := fd.Signal(unix.SIGKILL); err != nil {
			return fmt.Errorf("kill %d in cgroup %q: %w", pid, p, err)
		}
	}
	if exited, err := pidfd.Wait(fds, max(timeout, time.Second)); err != nil || !exited {
		return fmt.Errorf("processes of cgroup %q did not exit after SIGKILL (%v)", p, err)
	}
	return nil
}

// thaw unfreezes a cgroup (a frozen process does not die of SIGKILL):
// freezer.state on v1, cgroup.freeze on v2. Absent files are no error.
func thaw(dir string) {
	_ = os.WriteFile(filepath.Join(dir, "freezer.state"), []byte("THAWED"), 0)
	_ = os.WriteFile(filepath.Join(dir, "cgroup.freeze"), []byte("0"), 0)
}

func readPids(file string) []int {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil
	}
	var pids []int
	for _, f := range strings.Fields(string(b)) {
		if n, err := strconv.Atoi(f); err == nil && n > 0 {
			pids = append(pids, n)
		}
	}
	return pids
}

// inCgroup reports whether pid is in cgroup p, or below it, in any
// hierarchy.
func inCgroup(pid int, p string) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cgroup")
	if err != nil {
		return false
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		// hierarchy-id:controllers:path
		parts := strings.SplitN(line, ":", 3)
		if len(parts) == 3 && (parts[2] == p || strings.HasPrefix(parts[2], p+"/")) {
			return true
		}
	}
	return false
}

// rmdirTrees removes the cgroup directories in dirs, nested ones first,
// and reports busy when one still held a process.
func rmdirTrees(dirs []string) (busy bool, _ error) {
	for _, d := range dirs {
		var tree []string
		_ = filepath.WalkDir(d, func(path string, e fs.DirEntry, err error) error {
			if err == nil && e.IsDir() {
				tree = append(tree, path)
			}
			return nil
		})
		for _, t := range slices.Backward(tree) {
			err := unix.Rmdir(t)
			switch {
			case err == nil, errors.Is(err, unix.ENOENT):
			case errors.Is(err, unix.EBUSY):
				busy = true
			default:
				return busy, fmt.Errorf("remove cgroup %q: %w", t, err)
			}
		}
	}
	return busy, nil
}

// cgroupInUse returns errkind.HandleInUse if cgroup p exists in any
// hierarchy: it is not this runtime's (Create checks before it makes its
// state), so it is another container's, and sharing it would let either's
// delete kill the other.
func cgroupInUse(id, p string) error {
	dirs, err := cgroupDirs(p)
	if err != nil {
		return err
	}
	if len(dirs) > 0 {
		return fmt.Errorf("container %q: cgroup %q already exists (another gdn instance's container? give each instance its own GDN_TAG): %w",
			id, dirs[0], errkind.HandleInUse)
	}
	return nil
}
