package bundle

import (
	"slices"

	"github.com/opencontainers/runtime-spec/specs-go"
)

// Rlimits sets the init's RLIMIT_NOFILE, soft and hard, to Nofile.
// Without it the container would inherit the limits of whoever ran the
// runtime (an operator's shell, a systemd unit), so the same container
// would behave differently depending on the caller. HostConfig defaults
// Nofile to the current hard limit rather than anything higher: raising a
// hard limit needs CAP_SYS_RESOURCE, which not every host grants.
type Rlimits struct {
	Nofile uint64
}

// Apply implements Rule. A zero Nofile sets nothing.
func (r Rlimits) Apply(spec *specs.Spec, d Desired) error {
	if r.Nofile == 0 {
		return nil
	}
	p := processOf(spec)
	p.Rlimits = slices.DeleteFunc(p.Rlimits, func(l specs.POSIXRlimit) bool { return l.Type == "RLIMIT_NOFILE" })
	p.Rlimits = append(p.Rlimits, specs.POSIXRlimit{Type: "RLIMIT_NOFILE", Hard: r.Nofile, Soft: r.Nofile})
	return nil
}
