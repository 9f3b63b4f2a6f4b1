package bundle

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	securejoin "github.com/cyphar/filepath-securejoin"
	"github.com/gdn-dev/gdn/pkg/errkind"
	"github.com/gdn-dev/gdn/pkg/idmap"
	"github.com/opencontainers/runtime-spec/specs-go"
)

// Permission bits, as in a mode's "other" triplet.
const (
	mayExec  = 0o1
	mayWrite = 0o2
)

// CheckReach refuses, with errkind.InvalidSpec, a spec whose container
// root could not start the container, naming the cause and the fix: in a
// user namespace, container root is an unprivileged host user (host uid
// 4294967294 with gdn's default mappings), and the kernel judges its every
// step as that user's. It checks, in order:
//
//   - that container root can search every directory from / down to the
//     rootfs (a rootfs under a 0700 directory fails deep inside the start,
//     at "remount-propagation ... permission denied");
//   - that it can execute the init binary (the init's directories do not
//     matter: the runtime opens bind-mount sources on the host side);
//   - that every mount point missing from the rootfs can be made by it
//     (the runtime makes them as container root; a shared, host-owned
//     rootfs such as scripts/mk-rootfs makes lacks write permission, and
//     gdn does not alter it behind its owner's back). A mount point under
//     an earlier mount (/dev/pts under /dev) is the mounted file system's
//     concern. An image plugin's volume belongs to container root, so it
//     always passes.
//
// A spec without a user namespace (privileged) runs as host root and is
// not checked; nor is a rootfs that does not exist (Base refuses that).
// Call it on the complete spec, with every mount, before writing anything.
// ACLs are not considered: the mode bits decide.
func CheckReach(spec *specs.Spec) error {
	if spec == nil || spec.Root == nil || spec.Linux == nil || len(spec.Linux.UIDMappings) == 0 {
		return nil
	}
	r := containerRoot{uids: spec.Linux.UIDMappings, gids: spec.Linux.GIDMappings}
	r.uid, r.gid = hostIDOf(r.uids, 0), hostIDOf(r.gids, 0)
	rootfs, err := filepath.EvalSymlinks(spec.Root.Path)
	if err != nil {
		return nil
	}
	if err := r.checkSearch(rootfs); err != nil {
		return fmt.Errorf("rootfs %q: %w", spec.Root.Path, err)
	}
	for _, m := range spec.Mounts {
		if m.Destination != InitMountPath || m.Type != "bind" {
			continue
		}
		if st, err := statT(m.Source); err == nil && !r.may(st, mayExec) {
			return fmt.Errorf("init binary %q: container root (host uid %d) cannot execute it (%s): chmod o+rx %s: %w",
				m.Source, r.uid, describe(st), m.Source, errkind.InvalidSpec)
		}
	}
	return r.checkMountPoints(rootfs, spec.Mounts)
}

// containerRoot is container root as the host's permission checks see it.
type containerRoot struct {
	uid, gid   uint32 // its host ids
	uids, gids []specs.LinuxIDMapping
}

// may reports whether container root is granted want (mayExec, mayWrite or
// both) on an inode. Its capabilities hold in its user namespace only, so
// they grant access only to inodes whose owner and group are both mapped
// there (capable_wrt_inode_uidgid); otherwise the owner, group or other
// bits decide, as for any user. Execution of a file needs an x bit even
// with the capability.
func (r containerRoot) may(st *syscall.Stat_t, want uint32) bool {
	mode := st.Mode
	if hostMapped(r.uids, st.Uid) && hostMapped(r.gids, st.Gid) {
		return mode&syscall.S_IFMT == syscall.S_IFDIR || want&mayExec == 0 || mode&0o111 != 0
	}
	bits := mode & 0o7
	switch {
	case st.Uid == r.uid:
		bits = mode >> 6 & 0o7
	case st.Gid == r.gid:
		bits = mode >> 3 & 0o7
	}
	return bits&want == want
}

// checkSearch names the first directory from / down to dir (itself
// included) that container root cannot search.
func (r containerRoot) checkSearch(dir string) error {
	if p, st := r.unsearchable(dir); p != "" {
		return fmt.Errorf("container root (host uid %d) cannot search %q (%s): chmod o+x %s, or put it where container root can reach: %w",
			r.uid, p, describe(st), p, errkind.InvalidSpec)
	}
	return nil
}

// unsearchable returns the first directory from / down to dir (itself
// included) that container root cannot search, and its inode; "" when
// none. A directory that does not exist ends the walk: there is nothing
// to judge (gdn's tools make what is missing, 0755).
func (r containerRoot) unsearchable(dir string) (string, *syscall.Stat_t) {
	p := "/"
	for _, part := range append([]string{""}, strings.Split(strings.Trim(filepath.Clean(dir), "/"), "/")...) {
		p = filepath.Join(p, part)
		st, err := statT(p)
		if err != nil {
			return "", nil
		}
		if !r.may(st, mayExec) {
			return p, st
		}
	}
	return "", nil
}

// Unsearchable is, for container root of a user namespace with the
// mappings uids and gids (gdn-depot's, idmap.Mappings of the host's
// maximus, by default), the first directory from / down to dir that it
// cannot search and how that directory stands ("mode 0700, owner 0:0");
// "" when it can reach dir. The host check asks it of the depot, the
// store and gdn-init, with gdn-depot create's own rule.
func Unsearchable(dir string, uids, gids []idmap.Mapping) (blocker, detail string) {
	r := containerRoot{uids: toSpec(uids), gids: toSpec(gids)}
	r.uid, r.gid = hostIDOf(r.uids, 0), hostIDOf(r.gids, 0)
	p, st := r.unsearchable(dir)
	if p == "" {
		return "", ""
	}
	return p, describe(st)
}

// checkMountPoints lists the mount points of mounts missing from rootfs
// that container root cannot create, with the commands that make them.
func (r containerRoot) checkMountPoints(rootfs string, mounts []specs.Mount) error {
	var missing, dirs, files []string
	for i, m := range mounts {
		dst := path.Clean("/" + m.Destination)
		if dst == "/" || underEarlierMount(dst, mounts[:i]) {
			continue
		}
		p, err := securejoin.SecureJoin(rootfs, dst)
		if err != nil {
			continue
		}
		if _, err := os.Lstat(p); !errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if r.mayCreateIn(rootfs, path.Dir(dst)) {
			continue
		}
		missing = append(missing, dst)
		dir := dst
		if isFileMount(m) {
			dir = path.Dir(dst)
			files = append(files, filepath.Join(rootfs, dst))
		}
		if dir != "/" && !slices.Contains(dirs, filepath.Join(rootfs, dir)) {
			dirs = append(dirs, filepath.Join(rootfs, dir))
		}
	}
	if len(missing) == 0 {
		return nil
	}
	var fix []string
	if len(dirs) > 0 {
		fix = append(fix, "mkdir -p "+strings.Join(dirs, " "))
	}
	if len(files) > 0 {
		fix = append(fix, "touch "+strings.Join(files, " "))
	}
	return fmt.Errorf("rootfs %q lacks mount points that container root (host uid %d) cannot create: %s: make them (%s), or give the container its own volume (gdn-rootfs create): %w",
		rootfs, r.uid, strings.Join(missing, ", "), strings.Join(fix, "; "), errkind.InvalidSpec)
}

// mayCreateIn reports whether container root can create the missing
// entries under dir (a path in the container): its nearest existing
// ancestor must be a directory container root may write and search.
func (r containerRoot) mayCreateIn(rootfs, dir string) bool {
	for {
		p, err := securejoin.SecureJoin(rootfs, dir)
		if err != nil {
			return false
		}
		if st, err := statT(p); err == nil {
			return st.Mode&syscall.S_IFMT == syscall.S_IFDIR && r.may(st, mayWrite|mayExec)
		}
		if dir == "/" {
			return false
		}
		dir = path.Dir(dir)
	}
}

// underEarlierMount reports whether dst lies in a file system mounted by
// one of earlier (/dev/pts under the /dev tmpfs; anything under a file
// system mounted on "/" by the runtime, an image plugin's unmounted
// overlay): made there, not in the rootfs.
func underEarlierMount(dst string, earlier []specs.Mount) bool {
	for _, m := range earlier {
		d := path.Clean("/" + m.Destination)
		if d == "/" || strings.HasPrefix(dst, d+"/") {
			return true
		}
	}
	return false
}

// isFileMount reports whether m's mount point is a file: a bind mount
// whose source is not a directory (or not made yet, as the network files
// the depot writes after this check).
func isFileMount(m specs.Mount) bool {
	if m.Type != "bind" {
		return false
	}
	fi, err := os.Stat(m.Source)
	return err != nil || !fi.IsDir()
}

func statT(p string) (*syscall.Stat_t, error) {
	var st syscall.Stat_t
	if err := syscall.Stat(p, &st); err != nil {
		return nil, err
	}
	return &st, nil
}

// describe is an inode's mode and owner, for messages: "mode 0700, owner 0:0".
func describe(st *syscall.Stat_t) string {
	return fmt.Sprintf("mode %04o, owner %d:%d", st.Mode&0o7777, st.Uid, st.Gid)
}

// hostIDOf maps container id through ms; unmapped, it is (uid_t)-1, an id
// no inode has.
func hostIDOf(ms []specs.LinuxIDMapping, id uint32) uint32 {
	for _, m := range ms {
		if id >= m.ContainerID && uint64(id) < uint64(m.ContainerID)+uint64(m.Size) {
			return m.HostID + (id - m.ContainerID)
		}
	}
	return ^uint32(0)
}

// hostMapped reports whether host id appears in ms.
func hostMapped(ms []specs.LinuxIDMapping, id uint32) bool {
	for _, m := range ms {
		if id >= m.HostID && uint64(id) < uint64(m.HostID)+uint64(m.Size) {
			return true
		}
	}
	return false
}
