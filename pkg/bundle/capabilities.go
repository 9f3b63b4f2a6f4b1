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

// Capabilities sets the init's capability sets. Unprivileged containers get
// UnprivilegedCapabilities. Privileged containers get every capability in
// the host's bounding set (Host), rather than Guardian's fixed list of 38:
// asking for a capability the host lacks (this host has no
// CAP_SYS_RESOURCE) makes the container's start fail. Bounding, inheritable,
// permitted and effective are equal, so that the init and the processes
// started from the spec hold them without file capabilities.
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
		caps = r.Host
	}
	processOf(spec).Capabilities = &specs.LinuxCapabilities{
		Bounding:    slices.Clone(caps),
		Effective:   slices.Clone(caps),
		Inheritable: slices.Clone(caps),
		Permitted:   slices.Clone(caps),
	}
	return nil
}
