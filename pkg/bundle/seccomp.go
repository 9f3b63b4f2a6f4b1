package bundle

import (
	"fmt"
	"slices"

	"github.com/moby/profiles/seccomp"
	"github.com/opencontainers/runtime-spec/specs-go"
)

// Seccomp gives unprivileged containers a maintained default syscall
// filter (moby's, as Docker and containerd use) instead of a hand-kept list
// like Guardian's. The profile allows some syscalls only with matching
// capabilities (mount with CAP_SYS_ADMIN, for instance), so this rule must
// run after Capabilities. It also sets no_new_privs when NoNewPrivileges,
// so setuid binaries cannot regain what the container dropped. Privileged
// containers get neither, as in Guardian.
type Seccomp struct {
	NoNewPrivileges bool
	// NoX32 leaves the x32 architecture out of the filter, for a kernel
	// that runs no x32 syscall (HostConfig probes it): nothing changes for
	// a process, and every create and exec compiles a third less (the
	// filter is built in the container's init, per arch, each time; x32
	// is about 7 ms of it here).
	NoX32 bool
}

// Apply implements Rule.
func (r Seccomp) Apply(spec *specs.Spec, d Desired) error {
	if d.Privileged {
		return nil
	}
	p := processOf(spec)
	if p.Capabilities == nil {
		// The profile reads the bounding set; no set means no capability.
		p.Capabilities = &specs.LinuxCapabilities{}
	}
	profile, err := seccomp.GetDefaultProfile(spec)
	if err != nil {
		return fmt.Errorf("default seccomp profile: %w", err)
	}
	if r.NoX32 {
		profile.Architectures = slices.DeleteFunc(profile.Architectures, func(a specs.Arch) bool { return a == specs.ArchX32 })
	}
	linuxOf(spec).Seccomp = profile
	p.NoNewPrivileges = r.NoNewPrivileges
	return nil
}
