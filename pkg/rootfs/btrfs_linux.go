package rootfs

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"
)

// btrfs ioctls, from linux/btrfs.h. The create path uses them directly
// (no btrfs-progs exec per container); init-store and stats use the btrfs
// command, off the hot path.
const (
	btrfsIocSubvolCreate = 0x5000940e // _IOW(0x94, 14, struct btrfs_ioctl_vol_args)
	btrfsIocSnapDestroy  = 0x5000940f // _IOW(0x94, 15, struct btrfs_ioctl_vol_args)
	btrfsIocQgroupLimit  = 0x8030942b // _IOR(0x94, 43, struct btrfs_ioctl_qgroup_limit_args)
	btrfsIocSync         = 0x9408     // _IO(0x94, 8)
	btrfsPathNameMax     = 4087
	qgroupLimitMaxRfer   = 1 << 0
)

type btrfsVolArgs struct {
	Fd   int64
	Name [btrfsPathNameMax + 1]byte
}

type btrfsQgroupLimitArgs struct {
	QgroupID uint64
	Flags    uint64
	MaxRfer  uint64
	MaxExcl  uint64
	RsvRfer  uint64
	RsvExcl  uint64
}

// isBtrfs reports whether path is on a btrfs file system.
func isBtrfs(path string) bool {
	var st unix.Statfs_t
	return unix.Statfs(path, &st) == nil && st.Type == unix.BTRFS_SUPER_MAGIC
}

// volIoctl runs a btrfs_ioctl_vol_args ioctl on parent for name.
func volIoctl(req uintptr, path string) error {
	parent, name := filepath.Dir(path), filepath.Base(path)
	if len(name) > btrfsPathNameMax {
		return fmt.Errorf("subvolume name %q too long", name)
	}
	dir, err := os.Open(parent)
	if err != nil {
		return err
	}
	defer dir.Close()
	var args btrfsVolArgs
	copy(args.Name[:], name)
	if _, _, errno := unix.Syscall(unix.SYS_IOCTL, dir.Fd(), req, uintptr(unsafe.Pointer(&args))); errno != 0 {
		return errno
	}
	return nil
}

// createSubvolume makes path a new btrfs subvolume.
func createSubvolume(path string) error {
	if err := volIoctl(btrfsIocSubvolCreate, path); err != nil {
		return fmt.Errorf("create subvolume %q: %w", path, err)
	}
	return nil
}

// deleteSubvolume removes the subvolume at path with everything in it. An
// absent path is not an error.
func deleteSubvolume(path string) error {
	if _, err := os.Lstat(path); os.IsNotExist(err) {
		return nil
	}
	if err := volIoctl(btrfsIocSnapDestroy, path); err != nil {
		return fmt.Errorf("delete subvolume %q: %w", path, err)
	}
	return nil
}

// limitSubvolume caps what the subvolume at path may refer to, in bytes;
// the kernel then fails writes past it with EDQUOT.
func limitSubvolume(path string, bytes uint64) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	// qgroup id 0 means the subvolume of the fd.
	args := btrfsQgroupLimitArgs{Flags: qgroupLimitMaxRfer, MaxRfer: bytes}
	if _, _, errno := unix.Syscall(unix.SYS_IOCTL, f.Fd(), btrfsIocQgroupLimit, uintptr(unsafe.Pointer(&args))); errno != 0 {
		return fmt.Errorf("limit subvolume %q to %d bytes: %w", path, bytes, errno)
	}
	return nil
}

// syncFS writes the dirty data of the btrfs file system holding path and
// commits its transaction, so that its qgroups count what was written: until
// the commit (every 30 s by default) they lag. With nothing to commit it
// returns at once.
func syncFS(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, _, errno := unix.Syscall(unix.SYS_IOCTL, f.Fd(), btrfsIocSync, 0); errno != 0 {
		return fmt.Errorf("sync %q: %w", path, errno)
	}
	return nil
}

// subvolumeUsage returns the bytes the subvolume at path refers to, from
// its qgroup.
func subvolumeUsage(path string) (uint64, error) {
	out, err := exec.Command("btrfs", "qgroup", "show", "--raw", "-f", path).Output()
	if err != nil {
		return 0, fmt.Errorf("btrfs qgroup show %q: %w", path, err)
	}
	// "Qgroupid Referenced Exclusive ..." then a dashes line, then
	// "0/256 16384 16384 ...".
	for _, line := range bytes.Split(out, []byte("\n")) {
		f := strings.Fields(string(line))
		if len(f) >= 3 && strings.HasPrefix(f[0], "0/") {
			return strconv.ParseUint(f[1], 10, 64)
		}
	}
	return 0, fmt.Errorf("btrfs qgroup show %q: no qgroup in %q", path, out)
}

// run runs a command, returning its output in the error.
func run(name string, args ...string) error {
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return nil
}
