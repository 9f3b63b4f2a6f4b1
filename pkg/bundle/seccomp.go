package bundle

import (
	"fmt"

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
	linuxOf(spec).Seccomp = profile
	p.NoNewPrivileges = r.NoNewPrivileges
	return nil
}
