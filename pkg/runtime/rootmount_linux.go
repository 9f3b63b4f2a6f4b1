package runtime

import (
	"errors"
	"fmt"
	"os"
	"path"
	"strings"

	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/gdn-dev/gdn/pkg/errkind"
)

// A root file system that the image plugin left unmounted (gdn-rootfs
// create --without-mount, grootfs's skip_mount) comes as the bundle's
// first mount, with destination "/" (reference guardian-internals §3).
// libcontainer refuses a mount on top of its root, so gdn-run makes that
// mount itself, detached (fsopen and fsmount, as host root, exactly as
// an image plugin would have mounted it), and passes it to the init as
// its first extra file. The init moves it onto root.path as soon as it
// is in its new mount namespace, before libcontainer's own setup: the
// rootfs then exists only in the container's namespace. The host's mount
// table does not grow with containers (every new mount namespace copies
// it, and libcontainer reads it on each create), and nothing is left
// mounted when a container's last process ends, whatever crashed.

// firstExtraFD is the bootstrap's first extra file from libcontainer,
// after stdio: a create's detached root mount (moveRootMount), an exec's
// compiled seccomp filter (takeExecFilter).
const firstExtraFD = 3

// takeRootMount removes a mount on "/" from spec and returns it.
func takeRootMount(spec *specs.Spec) (*specs.Mount, error) {
	var root *specs.Mount
	for i, m := range spec.Mounts {
		if path.Clean(m.Destination) != "/" {
			continue
		}
		if i != 0 || root != nil {
			return nil, fmt.Errorf("a mount on / must be the first and only one: %w", errkind.InvalidSpec)
		}
		root = &m
	}
	if root != nil {
		spec.Mounts = spec.Mounts[1:]
	}
	return root, nil
}

// mountAttrs are the mount options that are attributes of the mount
// rather than parameters of the file system: as the new mount API's
// attribute and as mount(2)'s flag (mountAndClone).
var mountAttrs = map[string]struct {
	attr int
	flag uintptr
}{
	"ro": {unix.MOUNT_ATTR_RDONLY, unix.MS_RDONLY}, "nosuid": {unix.MOUNT_ATTR_NOSUID, unix.MS_NOSUID},
	"nodev": {unix.MOUNT_ATTR_NODEV, unix.MS_NODEV}, "noexec": {unix.MOUNT_ATTR_NOEXEC, unix.MS_NOEXEC},
	"noatime": {unix.MOUNT_ATTR_NOATIME, unix.MS_NOATIME}, "relatime": {unix.MOUNT_ATTR_RELATIME, unix.MS_RELATIME},
	"nodiratime": {unix.MOUNT_ATTR_NODIRATIME, unix.MS_NODIRATIME}, "rw": {0, 0},
}

// openRootMount mounts m detached and returns the mount's fd; target is
// root.path, used only by the fallback of mountAndClone.
func openRootMount(m *specs.Mount, target string) (_ *os.File, err error) {
	if m.Type == "" || m.Type == "bind" || m.Type == "rbind" {
		return nil, fmt.Errorf("mount on /: type %q: only a file system (such as overlay) can be mounted on the root: %w", m.Type, errkind.InvalidSpec)
	}
	f, err := fsmountRoot(m)
	if errors.Is(err, errLongParam) {
		return mountAndClone(m, target)
	}
	return f, err
}

// errLongParam is a parameter too long for fsconfig on this kernel.
var errLongParam = errors.New("a parameter too long for fsconfig")

// lowerdirPlus says whether to give a long lowerdir layer by layer
// (Linux 6.8), rather than through mountAndClone; tests turn it off.
var lowerdirPlus = true

// fsmountRoot makes m with the new mount API, detached.
func fsmountRoot(m *specs.Mount) (_ *os.File, err error) {
	fsfd, err := unix.Fsopen(m.Type, unix.FSOPEN_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("mount on /: file system %q: %w", m.Type, err)
	}
	defer unix.Close(fsfd)
	// The kernel says what was wrong with a parameter on the fs fd.
	explain := func(err error) error {
		buf := make([]byte, 256)
		if n, rerr := unix.Read(fsfd, buf); rerr == nil && n > 0 {
			return fmt.Errorf("%w (%s)", err, strings.TrimSpace(string(buf[:n])))
		}
		return err
	}
	if m.Source != "" {
		if err := unix.FsconfigSetString(fsfd, "source", m.Source); err != nil {
			return nil, fmt.Errorf("mount on /: source %q: %w", m.Source, explain(err))
		}
	}
	attrs := 0
	for _, o := range m.Options {
		key, value, hasValue := strings.Cut(o, "=")
		if a, ok := mountAttrs[o]; ok && !hasValue {
			attrs |= a.attr
			continue
		}
		switch {
		case key == "lowerdir" && len(value) > maxParam:
			if !lowerdirPlus {
				return nil, errLongParam
			}
			if err = setLowers(fsfd, value); errors.Is(err, unix.EINVAL) {
				return nil, errLongParam // a kernel before 6.8
			}
		case hasValue:
			err = unix.FsconfigSetString(fsfd, key, value)
		default:
			err = unix.FsconfigSetFlag(fsfd, key)
		}
		if err != nil {
			return nil, fmt.Errorf("mount on /: option %q: %w: %w", o, explain(err), errkind.InvalidSpec)
		}
	}
	if err := unix.FsconfigCreate(fsfd); err != nil {
		return nil, fmt.Errorf("mount %s on /: %w", m.Type, explain(err))
	}
	mfd, err := unix.Fsmount(fsfd, unix.FSMOUNT_CLOEXEC, attrs)
	if err != nil {
		return nil, fmt.Errorf("mount %s on /: %w", m.Type, err)
	}
	return os.NewFile(uintptr(mfd), "root mount"), nil
}

// mountAndClone mounts m on target with mount(2), whose options may fill
// a page, takes a detached clone of the mount (open_tree) and unmounts it
// again at once: the mount is on the host only for that moment. It is for
// kernels whose fsconfig cannot take the lowerdir of an image of many
// layers. A gdn-run killed in that moment leaves the mount on root.path,
// where gdn-rootfs delete unmounts it.
func mountAndClone(m *specs.Mount, target string) (*os.File, error) {
	var flags uintptr
	var data []string
	for _, o := range m.Options {
		if a, ok := mountAttrs[o]; ok {
			flags |= a.flag
			continue
		}
		data = append(data, o)
	}
	if err := unix.Mount(m.Source, target, m.Type, flags, strings.Join(data, ",")); err != nil {
		return nil, fmt.Errorf("mount %s on /: %w: %w", m.Type, err, errkind.InvalidSpec)
	}
	defer func() { _ = unix.Unmount(target, unix.MNT_DETACH) }()
	fd, err := unix.OpenTree(unix.AT_FDCWD, target, unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("clone the mount on /: %w", err)
	}
	return os.NewFile(uintptr(fd), "root mount"), nil
}

// maxParam is the longest string fsconfig(2) takes as a parameter's value
// (mount(2) takes a page for all of them).
const maxParam = 255

// setLowers gives overlayfs a lowerdir too long for one parameter (an
// image of many layers) one layer at a time, with "lowerdir+" (and
// "datadir+" after "::"), which Linux 6.8 added for this. A colon in a
// path is escaped ("\:") in lowerdir, not in lowerdir+.
func setLowers(fsfd int, value string) error {
	key := "lowerdir+"
	var layer strings.Builder
	flush := func() error {
		if layer.Len() == 0 {
			key = "datadir+" // "::": the data-only layers follow
			return nil
		}
		err := unix.FsconfigSetString(fsfd, key, layer.String())
		layer.Reset()
		return err
	}
	for i := 0; i < len(value); i++ {
		switch {
		case value[i] == '\\' && i+1 < len(value):
			i++
			layer.WriteByte(value[i])
		case value[i] == ':':
			if err := flush(); err != nil {
				return err
			}
		default:
			layer.WriteByte(value[i])
		}
	}
	return flush()
}

// moveRootMount runs in a new container's init before libcontainer's: if
// its first extra file is a detached mount, it goes onto the working
// directory, which libcontainer set to root.path. The namespace's mounts
// become slaves first (libcontainer would do so next, and applies the
// bundle's rootfsPropagation after): a privileged container's namespace
// still shares the host's propagation, and the mount must not appear on
// the host.
func moveRootMount() error {
	if os.Getenv("_LIBCONTAINER_INITTYPE") != "standard" {
		return nil
	}
	var st unix.Statx_t
	if err := unix.Statx(firstExtraFD, "", unix.AT_EMPTY_PATH, unix.STATX_TYPE, &st); err != nil {
		return nil // no extra file
	}
	if st.Attributes_mask&unix.STATX_ATTR_MOUNT_ROOT == 0 || st.Attributes&unix.STATX_ATTR_MOUNT_ROOT == 0 || st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return nil // libcontainer's own pipes, or a file for the process
	}
	if err := unix.Mount("", "/", "", unix.MS_SLAVE|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("make mounts slaves: %w", err)
	}
	if err := unix.MoveMount(firstExtraFD, "", unix.AT_FDCWD, ".", unix.MOVE_MOUNT_F_EMPTY_PATH); err != nil {
		return fmt.Errorf("move root mount onto the rootfs: %w", err)
	}
	return unix.Close(firstExtraFD)
}
