package leakcheck

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// cgroupDirs returns the directory of the cgroup parent in every mounted
// cgroup hierarchy (v1 controllers and v2), one per hierarchy.
func (c *check) cgroupDirs() ([]string, error) {
	ms, err := readMountinfo()
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var dirs []string
	for _, m := range ms {
		if (m.fstype != "cgroup" && m.fstype != "cgroup2") || seen[m.dev] {
			continue
		}
		// A hierarchy mounted from below its root (a bind mount, a
		// cgroup namespace) shows the parent only if it lies within.
		rel, ok := under(filepath.Clean(m.root), c.CgroupParent)
		if !ok {
			continue
		}
		seen[m.dev] = true
		dirs = append(dirs, filepath.Join(m.point, rel))
	}
	return dirs, nil
}

// owns tells whether a name under the cgroup parent is one of this
// instance's leftovers: not excepted, and this run's.
func (c *check) owns(name string) bool {
	return !c.keep[name] && (c.Owned == nil || c.Owned(name))
}

// initMountPath is where a container sees its init (bundle.InitMountPath,
// not imported: it would link the bundle rules into gdn-leakcheck).
const initMountPath = "/tmp/garden-init"

// foreignProcess tells whether pid is provably another instance's: its
// root holds an init at initMountPath that is not InitBin. A process
// that shows none (a pea, an init not yet in its rootfs) is not foreign.
func (c *check) foreignProcess(pid int) bool {
	if c.initBin == nil {
		return false
	}
	st, err := os.Stat(fmt.Sprintf("/proc/%d/root%s", pid, initMountPath))
	return err == nil && !os.SameFile(st, c.initBin)
}

// foreignCgroup tells whether the cgroup dir holds a process that is
// provably another instance's.
func (c *check) foreignCgroup(dir string) bool {
	if c.initBin == nil {
		return false
	}
	data, err := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
	if err != nil {
		return false
	}
	for _, f := range strings.Fields(string(data)) {
		if pid, err := strconv.Atoi(f); err == nil && c.foreignProcess(pid) {
			return true
		}
	}
	return false
}

// cgroups reports the cgroups under the parent, in each hierarchy.
func (c *check) cgroups() error {
	if c.CgroupParent == "" {
		return nil
	}
	dirs, err := c.cgroupDirs()
	if err != nil {
		return err
	}
	var errs []error
	found := map[string][]string{} // name -> its dir in each hierarchy
	var names []string
	for _, dir := range dirs {
		es, err := os.ReadDir(dir)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
		for _, e := range es {
			if e.IsDir() && c.owns(e.Name()) {
				if found[e.Name()] == nil {
					names = append(names, e.Name())
				}
				found[e.Name()] = append(found[e.Name()], filepath.Join(dir, e.Name()))
			}
		}
	}
	for _, n := range names {
		if slices.ContainsFunc(found[n], c.foreignCgroup) {
			continue // the same name in another instance, alive
		}
		for _, p := range found[n] {
			c.add(KindCgroup, n, p)
		}
	}
	return errors.Join(errs...)
}

// processes reports live processes in a cgroup under the parent, and
// dadoos of the instance's runtime root or depot. Zombies are gone: they
// hold nothing but a pid, and nothing here reaps orphans.
func (c *check) processes() error {
	if c.CgroupParent == "" && c.RuntimeRoot == "" && c.Depot == "" {
		return nil
	}
	es, err := os.ReadDir("/proc")
	if err != nil {
		return err
	}
	for _, e := range es {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		comm, state, ok := procStat(pid)
		if !ok || state == 'Z' || state == 'X' {
			continue // gone, or a zombie
		}
		what := fmt.Sprintf("%d (%s)", pid, comm)
		if h, cg, ok := c.procCgroup(pid); ok && !c.foreignProcess(pid) {
			c.add(KindProcess, h, what+" in cgroup "+cg)
		} else if h, ok := c.dadoo(pid); ok {
			c.add(KindProcess, h, what+" dadoo")
		}
	}
	return nil
}

// procStat returns a process's command name and state from
// /proc/<pid>/stat ("pid (comm) S ..."; comm may hold spaces and parens).
func procStat(pid int) (string, byte, bool) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return "", 0, false
	}
	open, close := bytes.IndexByte(data, '('), bytes.LastIndexByte(data, ')')
	if open < 0 || close < open || close+2 >= len(data) {
		return "", 0, false
	}
	return string(data[open+1 : close]), data[close+2], true
}

// procCgroup returns the handle and cgroup of a process whose cgroup, in
// some hierarchy, lies under the parent and is the instance's.
func (c *check) procCgroup(pid int) (string, string, bool) {
	if c.CgroupParent == "" {
		return "", "", false
	}
	f, err := os.Open(fmt.Sprintf("/proc/%d/cgroup", pid))
	if err != nil {
		return "", "", false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// hierarchy-id:controllers:path
		parts := strings.SplitN(sc.Text(), ":", 3)
		if len(parts) != 3 {
			continue
		}
		if rel, ok := under(c.CgroupParent, filepath.Clean(parts[2])); ok && rel != "" {
			if h := strings.SplitN(rel, "/", 2)[0]; c.owns(h) {
				return h, parts[2], true
			}
		}
	}
	return "", "", false
}

// dadoo returns the handle of a dadoo process of this instance: its
// command line (pkg/dadoo.Args: -runtime-root R ... exec HANDLE DIR)
// names the runtime root, or a process dir in the depot.
func (c *check) dadoo(pid int) (string, bool) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil || len(data) == 0 {
		return "", false
	}
	args := strings.Split(strings.TrimSuffix(string(data), "\x00"), "\x00")
	if filepath.Base(args[0]) != "dadoo" {
		return "", false
	}
	var root, h, dir string
	for i := 1; i < len(args); i++ {
		a := strings.TrimLeft(args[i], "-")
		switch {
		case strings.HasPrefix(a, "runtime-root="):
			root = strings.TrimPrefix(a, "runtime-root=")
		case a == "runtime-root" && i+1 < len(args):
			root = args[i+1]
			i++
		case args[i] == "exec" && i+2 < len(args):
			h, dir = args[i+1], args[i+2]
			i += 2
		}
	}
	ours := c.RuntimeRoot != "" && root != "" && filepath.Clean(root) == c.RuntimeRoot
	if c.Depot != "" && dir != "" {
		if _, ok := under(c.Depot, filepath.Clean(dir)); ok {
			ours = true
		}
	}
	return h, ours && !c.except[h]
}
