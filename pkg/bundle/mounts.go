package bundle

import (
	"fmt"
	"path/filepath"
	"slices"

	"github.com/gdn-dev/gdn/pkg/errkind"
	"github.com/gdn-dev/gdn/pkg/idmap"
	"github.com/opencontainers/runtime-spec/specs-go"
)

// ttyGID is the "tty" group that owns pseudo-terminals on Debian-like
// systems; devpts gives new ptys this group when asked to.
const ttyGID = 5

// Mounts lays out the container's file system mounts: the image plugin's
// mounts first (they belong to the rootfs, and later mounts may sit on
// them), then the kernel file systems every Linux program expects (/proc,
// /dev, /dev/pts, /dev/shm, /dev/mqueue, /sys), sized and flagged like
// Guardian's. An unprivileged container on cgroup v1 also gets a read-only
// /sys/fs/cgroup, as in Guardian. The init and bind mounts follow, from
// their own rules.
type Mounts struct {
	CgroupV1    bool
	GIDMappings []idmap.Mapping
}

// Apply implements Rule. An image mount with a relative destination is
// errkind.InvalidSpec.
func (r Mounts) Apply(spec *specs.Spec, d Desired) error {
	for _, m := range d.ImageMounts {
		if !filepath.IsAbs(m.Destination) {
			return fmt.Errorf("image mount destination %q is not absolute: %w", m.Destination, errkind.InvalidSpec)
		}
	}
	mounts := append(slices.Clone(d.ImageMounts), spec.Mounts...)
	mounts = append(mounts,
		specs.Mount{Destination: "/proc", Type: "proc", Source: "proc", Options: []string{"nosuid", "noexec", "nodev"}},
		specs.Mount{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "strictatime", "mode=755", "size=65536k"}},
		specs.Mount{Destination: "/dev/pts", Type: "devpts", Source: "devpts", Options: r.devptsOptions(d.Privileged)},
		// No size of its own, as in Guardian: tmpfs pages are charged to
		// the writer's memory cgroup, so the memory limit bounds it (and
		// a pea with its own limits has its own bound).
		specs.Mount{Destination: "/dev/shm", Type: "tmpfs", Source: "tmpfs", Options: []string{"noexec", "nosuid", "nodev", "mode=1777"}},
		specs.Mount{Destination: "/dev/mqueue", Type: "mqueue", Source: "mqueue", Options: []string{"noexec", "nosuid", "nodev"}},
		specs.Mount{Destination: "/sys", Type: "sysfs", Source: "sysfs", Options: []string{"noexec", "nosuid", "nodev", "ro"}},
	)
	if !d.Privileged && r.CgroupV1 {
		mounts = append(mounts, specs.Mount{Destination: "/sys/fs/cgroup", Type: "cgroup", Source: "cgroup", Options: []string{"ro", "nosuid", "noexec", "nodev"}})
	}
	spec.Mounts = mounts
	return nil
}

// devptsOptions asks for gid=5 only where that group exists for the
// kernel: always in a privileged container, and in a user namespace only
// when container gid 5 is mapped, because devpts refuses an unmapped gid
// and the whole container start would fail.
func (r Mounts) devptsOptions(privileged bool) []string {
	opts := []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"}
	if privileged || mapsID(r.GIDMappings, ttyGID) {
		opts = append(opts, fmt.Sprintf("gid=%d", ttyGID))
	}
	return opts
}

// mapsID reports whether container id is covered by ms.
func mapsID(ms []idmap.Mapping, id uint32) bool {
	for _, m := range ms {
		if uint64(id) >= uint64(m.ContainerID) && uint64(id) < uint64(m.ContainerID)+uint64(m.Size) {
			return true
		}
	}
	return false
}
