package idmap

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// userns returns an fd of a new user namespace with the given mappings.
// The namespace is made by a child that is stopped before it runs any code
// (ptrace stops it at exec), kept only long enough to open its namespace.
func userns(uidMap, gidMap []Mapping) (*os.File, error) {
	cmd := exec.Command("/proc/self/exe")
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags:  unix.CLONE_NEWUSER,
		UidMappings: sysMappings(uidMap),
		GidMappings: sysMappings(gidMap),
		Ptrace:      true,
		Pdeathsig:   syscall.SIGKILL,
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("user namespace for an id-mapped mount: %w", err)
	}
	defer func() {
		_ = cmd.Process.Kill()
		_, _ = cmd.Process.Wait()
	}()
	f, err := os.Open("/proc/" + strconv.Itoa(cmd.Process.Pid) + "/ns/user")
	if err != nil {
		return nil, fmt.Errorf("user namespace for an id-mapped mount: %w", err)
	}
	return f, nil
}

func sysMappings(ms []Mapping) []syscall.SysProcIDMap {
	out := make([]syscall.SysProcIDMap, 0, len(ms))
	for _, m := range ms {
		out = append(out, syscall.SysProcIDMap{ContainerID: int(m.ContainerID), HostID: int(m.HostID), Size: int(m.Size)})
	}
	return out
}

// Tree returns an fd of a detached, read-only, id-mapped clone of
// the mount at src; it is gone when the fd closes unless moved somewhere.
func Tree(src string, uidMap, gidMap []Mapping) (int, error) {
	ns, err := userns(uidMap, gidMap)
	if err != nil {
		return -1, err
	}
	defer ns.Close()
	tree, err := unix.OpenTree(unix.AT_FDCWD, src, unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC)
	if err != nil {
		return -1, fmt.Errorf("open_tree %q: %w", src, err)
	}
	attr := unix.MountAttr{Attr_set: unix.MOUNT_ATTR_IDMAP | unix.MOUNT_ATTR_RDONLY, Userns_fd: uint64(ns.Fd())}
	if err := unix.MountSetattr(tree, "", unix.AT_EMPTY_PATH, &attr); err != nil {
		unix.Close(tree)
		return -1, fmt.Errorf("id-map %q: %w", src, err)
	}
	return tree, nil
}

// Probe id-maps a clone of the mount that holds dir, as gdn-rootfs serves
// a preloaded rootfs, and drops it without attaching it anywhere: whether
// this host and the file system of dir can do it (the host check asks).
func Probe(dir string) error {
	m := []Mapping{{ContainerID: 0, HostID: 65534, Size: 1}}
	tree, err := Tree(dir, m, m)
	if err != nil {
		return err
	}
	return unix.Close(tree)
}
