package rootfs

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"syscall"

	"github.com/gdn-dev/gdn/pkg/idmap"
	"golang.org/x/sys/unix"
)

// userns returns an fd of a new user namespace with the given mappings.
// The namespace is made by a child that is stopped before it runs any code
// (ptrace stops it at exec), kept only long enough to open its namespace.
func userns(uidMap, gidMap []idmap.Mapping) (*os.File, error) {
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

func sysMappings(ms []idmap.Mapping) []syscall.SysProcIDMap {
	out := make([]syscall.SysProcIDMap, 0, len(ms))
	for _, m := range ms {
		out = append(out, syscall.SysProcIDMap{ContainerID: int(m.ContainerID), HostID: int(m.HostID), Size: int(m.Size)})
	}
	return out
}

// idmappedBind mounts src read-only at dst with the store's ids: a file
// owned by id C on disk appears owned by host id H where the mapping
// takes C to H. A preloaded rootfs owned by host root thus appears owned
// by the unprivileged container's root, without copying or chowning it.
func idmappedBind(src, dst string, uidMap, gidMap []idmap.Mapping) error {
	ns, err := userns(uidMap, gidMap)
	if err != nil {
		return err
	}
	defer ns.Close()
	tree, err := unix.OpenTree(unix.AT_FDCWD, src, unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC)
	if err != nil {
		return fmt.Errorf("open_tree %q: %w", src, err)
	}
	defer unix.Close(tree)
	attr := unix.MountAttr{Attr_set: unix.MOUNT_ATTR_IDMAP | unix.MOUNT_ATTR_RDONLY, Userns_fd: uint64(ns.Fd())}
	if err := unix.MountSetattr(tree, "", unix.AT_EMPTY_PATH, &attr); err != nil {
		return fmt.Errorf("id-map %q: %w", src, err)
	}
	if err := unix.MoveMount(tree, "", unix.AT_FDCWD, dst, unix.MOVE_MOUNT_F_EMPTY_PATH); err != nil {
		return fmt.Errorf("mount id-mapped %q at %q: %w", src, dst, err)
	}
	return nil
}
