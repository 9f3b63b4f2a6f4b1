package bundle

import (
	"errors"
	"slices"

	"github.com/opencontainers/runtime-spec/specs-go"
)

// UnprivilegedCapabilities is Guardian's capability set for unprivileged
// containers: enough to run ordinary system software as container root
// (change owners, bind low ports, chroot, send signals) and nothing that
// administers the host (no SYS_ADMIN, NET_ADMIN, SYS_MODULE, SYS_PTRACE).
var UnprivilegedCapabilities = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD",
	"CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP",
	"CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
}

// PrivilegedCapabilities is Guardian's list for privileged containers:
// every capability up to CAP_AUDIT_READ (37), in number order. Newer ones
// (PERFMON, BPF, CHECKPOINT_RESTORE) are not granted, as the reference
// grants none of them.
var PrivilegedCapabilities = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER",
	"CAP_FSETID", "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP",
	"CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST",
	"CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER",
	"CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE",
	"CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
	"CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD",
	"CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP",
	"CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM",
	"CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ",
}

// NonRootCapabilities bounds what a process running as a non-root user
// may hold, in any container: Guardian's unprivileged set plus SYS_ADMIN.
// In an unprivileged container it changes nothing; in a privileged one it
// keeps an ordinary user from inheriting the host-administering set.
var NonRootCapabilities = append(slices.Clone(UnprivilegedCapabilities), "CAP_SYS_ADMIN")

// Capabilities sets the init's capability sets. Unprivileged containers get
// UnprivilegedCapabilities. Privileged containers get
// PrivilegedCapabilities less what the host's bounding set (Host) lacks:
// asking for a capability the host does not have (this host has no
// CAP_SYS_RESOURCE) makes the container's start fail. Bounding,
// inheritable, permitted and effective are equal, so that the init and the
// processes started from the spec hold them without file capabilities.
type Capabilities struct {
	Host []string
}

// Apply implements Rule. A privileged container with an empty Host list is
// an error: it would silently be less capable than asked.
func (r Capabilities) Apply(spec *specs.Spec, d Desired) error {
	caps := UnprivilegedCapabilities
	if d.Privileged {
		if len(r.Host) == 0 {
			return errors.New("privileged container: host capability set is unknown")
		}
		caps = intersect(PrivilegedCapabilities, r.Host)
	}
	processOf(spec).Capabilities = &specs.LinuxCapabilities{
		Bounding:    slices.Clone(caps),
		Effective:   slices.Clone(caps),
		Inheritable: slices.Clone(caps),
		Permitted:   slices.Clone(caps),
	}
	return nil
}

// ForNonRoot returns c with every set cut down to NonRootCapabilities, for
// a process whose user is not root (Guardian's rule for exec'd
// processes). nil stays nil.
func ForNonRoot(c *specs.LinuxCapabilities) *specs.LinuxCapabilities {
	if c == nil {
		return nil
	}
	return &specs.LinuxCapabilities{
		Bounding:    intersect(c.Bounding, NonRootCapabilities),
		Effective:   intersect(c.Effective, NonRootCapabilities),
		Inheritable: intersect(c.Inheritable, NonRootCapabilities),
		Permitted:   intersect(c.Permitted, NonRootCapabilities),
		Ambient:     intersect(c.Ambient, NonRootCapabilities),
	}
}

// intersect returns the names of a that are also in b, in a's order.
func intersect(a, b []string) []string {
	var out []string
	for _, c := range a {
		if slices.Contains(b, c) {
			out = append(out, c)
		}
	}
	return out
}
