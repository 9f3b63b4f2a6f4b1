package bundle

import (
	"fmt"

	"github.com/gdn-dev/gdn/pkg/errkind"
	"github.com/gdn-dev/gdn/pkg/idmap"
	"github.com/opencontainers/runtime-spec/specs-go"
)

// Names fixed by gdn's contracts with the other tools and with Guardian.
const (
	// AnnotationHandle records the container's handle in the spec.
	AnnotationHandle = "gdn.handle"
	// AnnotationCreated records the creation time, RFC 3339 with
	// nanoseconds, so that the depot can report it without a side file.
	AnnotationCreated = "gdn.created"
	// InitMountPath is where the init binary appears in every container:
	// Guardian's path, kept so that operators used to Guardian find the
	// container's pid 1 where they expect it.
	InitMountPath = "/tmp/garden-init"
	// DefaultCgroupParent is the cgroup under which containers are placed
	// when Config.CgroupParent is empty.
	DefaultCgroupParent = "/garden"
)

// Config holds the host facts and installation choices every container's
// spec depends on. HostConfig fills it from the running host; the caller
// sets InitPath.
type Config struct {
	// InitPath is the absolute host path of the init binary (gdn-init).
	InitPath string
	// CgroupParent is the cgroup path under which each container gets a
	// cgroup named by its handle; "" means DefaultCgroupParent.
	CgroupParent string
	// UIDMappings and GIDMappings map an unprivileged container's ids to
	// host ids (idmap.Mappings of the host's maximus).
	UIDMappings []idmap.Mapping
	GIDMappings []idmap.Mapping
	// HostCapabilities names the capabilities in the host's bounding set
	// ("CAP_CHOWN" form): a privileged container gets exactly these.
	HostCapabilities []string
	// CgroupV1 is true when /sys/fs/cgroup is a cgroup v1 (or hybrid)
	// hierarchy.
	CgroupV1 bool
	// SwapAccounting is true when the host's memory cgroup can limit swap.
	SwapAccounting bool
	// NoNewPrivileges sets no_new_privs on unprivileged containers.
	NoNewPrivileges bool
	// NoX32 says the kernel runs no x32 syscalls (CONFIG_X86_X32_ABI off,
	// as in most distributions' kernels): the seccomp filter then leaves
	// the x32 architecture out (see Seccomp).
	NoX32 bool
	// Nofile is RLIMIT_NOFILE (soft and hard) of the container; 0 leaves
	// the runtime's default.
	Nofile uint64
	// MountFlags returns the locked mount flags (nodev, noexec, nosuid) of
	// the file system holding a bind-mount source. nil means read them
	// with statfs(2); tests pass a fixed function.
	MountFlags func(path string) ([]string, error)
}

// MapIDs maps unprivileged containers' ids 1.. to length host ids from
// uidStart and gidStart on; a zero length keeps HostConfig's mapping
// (identity). Container root stays the host's maximus.
func (c *Config) MapIDs(uidStart, uidLength, gidStart, gidLength uint32) error {
	var err error
	if uidLength > 0 {
		if c.UIDMappings, err = idmap.RangeMappings(c.UIDMappings[0].HostID, uidStart, uidLength); err != nil {
			return fmt.Errorf("uid map: %w", err)
		}
	}
	if gidLength > 0 {
		if c.GIDMappings, err = idmap.RangeMappings(c.GIDMappings[0].HostID, gidStart, gidLength); err != nil {
			return fmt.Errorf("gid map: %w", err)
		}
	}
	return nil
}

// FromImage takes the rootfs, mounts and environment of an image
// plugin's partial spec; one without root.path is errkind.InvalidSpec.
func (d *Desired) FromImage(partial *specs.Spec) error {
	if partial == nil || partial.Root == nil || partial.Root.Path == "" {
		return fmt.Errorf("no rootfs: pass --rootfs or pipe an image plugin's spec with root.path on stdin: %w", errkind.InvalidSpec)
	}
	d.Rootfs, d.ImageMounts = partial.Root.Path, partial.Mounts
	if partial.Process != nil {
		d.ImageEnv = partial.Process.Env
	}
	return nil
}

// DefaultRules returns the rules that build a gdn container's spec, in the
// order they must run. gdn-depot uses exactly this list.
func DefaultRules(cfg Config) []Rule {
	parent := cfg.CgroupParent
	if parent == "" {
		parent = DefaultCgroupParent
	}
	flags := cfg.MountFlags
	if flags == nil {
		flags = statfsFlags
	}
	return []Rule{
		Base{},
		Namespaces{},
		IDMappings{UID: cfg.UIDMappings, GID: cfg.GIDMappings},
		Capabilities{Host: cfg.HostCapabilities},
		MaskedPaths{},
		Mounts{CgroupV1: cfg.CgroupV1, GIDMappings: cfg.GIDMappings},
		Init{Path: cfg.InitPath, MountFlags: flags},
		BindMounts{MountFlags: flags},
		Env{},
		Hostname{},
		Cgroup{Parent: parent},
		CgroupLimits{SwapAccounting: cfg.SwapAccounting},
		Rlimits{Nofile: cfg.Nofile},
		Devices{},
		Seccomp{NoNewPrivileges: cfg.NoNewPrivileges, NoX32: cfg.NoX32},
	}
}
