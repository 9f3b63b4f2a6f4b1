package hostcheck

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// checkIDMapped id-maps a clone of the mount that holds dir (or its
// nearest existing parent): gdn-rootfs serves a preloaded rootfs through
// an id-mapped bind mount. The clone is never attached anywhere and goes
// away when its fd closes.
func checkIDMapped(dir string) Result {
	const name = "id-mapped mounts"
	fix := "a kernel of 5.12 or later, with the filesystem of the rootfs supporting id-mapped mounts (ext4, xfs, btrfs; overlayfs and tmpfs from 5.19/6.3)"
	if dir == "" {
		dir = "/"
	}
	for {
		if _, err := os.Stat(dir); err == nil {
			break
		}
		dir = filepath.Dir(dir)
	}
	ns, err := usernsFD()
	if err != nil {
		return missing(name, err.Error(), fix, true)
	}
	defer ns.Close()
	tree, err := unix.OpenTree(unix.AT_FDCWD, dir, unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC)
	if err != nil {
		return missing(name, fmt.Sprintf("open_tree %s: %v", dir, err), fix, true)
	}
	defer unix.Close(tree)
	attr := unix.MountAttr{Attr_set: unix.MOUNT_ATTR_IDMAP, Userns_fd: uint64(ns.Fd())}
	if err := unix.MountSetattr(tree, "", unix.AT_EMPTY_PATH, &attr); err != nil {
		return missing(name, fmt.Sprintf("id-map a mount of %s: %v", dir, err), fix, true)
	}
	return ok(name, "id-mapped a mount of "+dir)
}

// usernsFD opens the user namespace of a child stopped at its exec
// (ptrace), which maps 0 to 65534, and kills the child.
func usernsFD() (*os.File, error) {
	truePath, err := exec.LookPath("true")
	if err != nil {
		return nil, fmt.Errorf("cannot test: no true(1) in PATH")
	}
	cmd := exec.Command(truePath)
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags:  unix.CLONE_NEWUSER,
		UidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: 65534, Size: 1}},
		GidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: 65534, Size: 1}},
		Ptrace:      true,
		Pdeathsig:   syscall.SIGKILL,
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("user namespace: %w", err)
	}
	defer func() {
		_ = cmd.Process.Kill()
		_, _ = cmd.Process.Wait()
	}()
	return os.Open("/proc/" + strconv.Itoa(cmd.Process.Pid) + "/ns/user")
}
