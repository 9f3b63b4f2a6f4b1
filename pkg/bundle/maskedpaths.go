package bundle

import (
	"slices"

	"github.com/opencontainers/runtime-spec/specs-go"
)

// maskedPaths are the /proc and /sys files that show host-wide kernel state
// (memory, timers, keys, firmware) and that an unprivileged container has
// no business reading; Guardian hides the same list.
var maskedPaths = []string{
	"/proc/kcore", "/proc/latency_stats", "/proc/sched_debug", "/proc/scsi",
	"/proc/timer_list", "/proc/timer_stats", "/proc/keys", "/sys/firmware",
}

// MaskedPaths hides maskedPaths from unprivileged containers (the runtime
// mounts over them). Privileged containers see the host's view, as in
// Guardian.
type MaskedPaths struct{}

// Apply implements Rule.
func (MaskedPaths) Apply(spec *specs.Spec, d Desired) error {
	if d.Privileged {
		return nil
	}
	linuxOf(spec).MaskedPaths = slices.Clone(maskedPaths)
	return nil
}
