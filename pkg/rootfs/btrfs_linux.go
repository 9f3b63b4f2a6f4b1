package rootfs

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"
)

// btrfs ioctls, from linux/btrfs.h. The create and stats paths use them
// directly (no btrfs-progs exec per container); init-store uses the btrfs
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
// its qgroup's info item in the quota tree, read with a tree search: no
// btrfs-progs exec (which costs more than the read) on the metrics path.
func subvolumeUsage(path string) (uint64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	id, err := subvolumeID(f)
	if err != nil {
		return 0, fmt.Errorf("subvolume id of %q: %w", path, err)
	}
	// The level-0 qgroup of a subvolume has the subvolume's id.
	var args btrfsSearchArgs
	args.Key = btrfsSearchKey{
		TreeID: btrfsQuotaTreeObjectID, MinType: btrfsQgroupInfoKey, MaxType: btrfsQgroupInfoKey,
		MinOffset: id, MaxOffset: id, MaxObjectID: 0, MaxTransID: ^uint64(0), NrItems: 1,
	}
	if _, _, errno := unix.Syscall(unix.SYS_IOCTL, f.Fd(), btrfsIocTreeSearch, uintptr(unsafe.Pointer(&args))); errno != 0 {
		return 0, fmt.Errorf("read qgroup of %q: %w", path, errno)
	}
	if args.Key.NrItems == 0 {
		return 0, fmt.Errorf("subvolume %q has no qgroup (quotas off?)", path)
	}
	hdr := (*btrfsSearchHeader)(unsafe.Pointer(&args.Buf[0]))
	if hdr.Type != btrfsQgroupInfoKey || hdr.Offset != id || hdr.Len < 40 {
		return 0, fmt.Errorf("read qgroup of %q: unexpected item %+v", path, *hdr)
	}
	// btrfs_qgroup_info_item: generation, rfer, rfer_cmpr, excl, excl_cmpr
	// (little-endian, as the host).
	item := args.Buf[unsafe.Sizeof(*hdr):]
	return binary.LittleEndian.Uint64(item[8:16]), nil
}

// subvolumeID returns the id of the subvolume whose root f is.
func subvolumeID(f *os.File) (uint64, error) {
	args := btrfsInoLookupArgs{ObjectID: btrfsFirstFreeObjectID}
	if _, _, errno := unix.Syscall(unix.SYS_IOCTL, f.Fd(), btrfsIocInoLookup, uintptr(unsafe.Pointer(&args))); errno != 0 {
		return 0, errno
	}
	return args.TreeID, nil
}

// Tree search and inode lookup, from linux/btrfs.h and btrfs_tree.h.
const (
	btrfsIocTreeSearch     = 0xd0009411 // _IOWR(0x94, 17, struct btrfs_ioctl_search_args)
	btrfsIocInoLookup      = 0xd0009412 // _IOWR(0x94, 18, struct btrfs_ioctl_ino_lookup_args)
	btrfsQuotaTreeObjectID = 8
	btrfsQgroupInfoKey     = 242
	btrfsFirstFreeObjectID = 256
)

type btrfsSearchKey struct {
	TreeID, MinObjectID, MaxObjectID, MinOffset, MaxOffset, MinTransID, MaxTransID uint64
	MinType, MaxType, NrItems, _                                                   uint32
	_                                                                              [4]uint64
}

type btrfsSearchArgs struct {
	Key btrfsSearchKey
	Buf [4096 - 104]byte
}

type btrfsSearchHeader struct {
	TransID, ObjectID, Offset uint64
	Type, Len                 uint32
}

type btrfsInoLookupArgs struct {
	TreeID, ObjectID uint64
	Name             [4080]byte
}

// run runs a command, returning its output in the error. A command not
// found names the package to install (missingTool).
func run(name string, args ...string) error {
	out, err := exec.Command(name, args...).CombinedOutput()
	if errors.Is(err, exec.ErrNotFound) {
		return missingTool(name, err)
	}
	if err != nil {
		return fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return nil
}

// toolPackages names the Debian package of each program the store runs.
var toolPackages = map[string]string{"mkfs.btrfs": "btrfs-progs", "btrfs": "btrfs-progs", "mount": "mount"}

// missingTool is the error for a program the store needs that is not in
// $PATH: it names the package that ships it.
func missingTool(name string, err error) error {
	pkg := toolPackages[name]
	if pkg == "" {
		return fmt.Errorf("%s: %w", name, err)
	}
	return fmt.Errorf("%s not found in $PATH: install %s (apt-get install %s)", name, pkg, pkg)
}
