package bundle

import (
	"fmt"
	"math"

	"github.com/gdn-dev/gdn/pkg/errkind"
	"github.com/opencontainers/runtime-spec/specs-go"
)

// CgroupLimits turns Desired.Limits into cgroup resources; a zero field
// sets nothing, leaving the kernel default (unlimited, 1024 shares).
//   - Memory: the limit, and the same value as the memory+swap limit, as in
//     Guardian, so a container cannot escape its limit by swapping. The
//     swap limit is set only when the host accounts swap (SwapAccounting):
//     otherwise the runtime fails to write it.
//   - CPU shares: 1 is rejected. cgroup v1 refuses shares below 2, and the
//     runtime's conversion to a cgroup v2 weight underflows on 1.
//   - Pids: the maximum number of tasks.
type CgroupLimits struct {
	SwapAccounting bool
}

// Apply implements Rule. CPU shares of 1 and a negative pids limit are
// errkind.InvalidSpec. A memory limit above MaxInt64 is capped.
func (r CgroupLimits) Apply(spec *specs.Spec, d Desired) error {
	lim := d.Limits
	if lim.CPUShares == 1 {
		return fmt.Errorf("cpu shares must be at least 2, got 1: %w", errkind.InvalidSpec)
	}
	if lim.PidsMax < 0 {
		return fmt.Errorf("pids limit must not be negative, got %d: %w", lim.PidsMax, errkind.InvalidSpec)
	}
	if lim.MemoryBytes > 0 {
		mem := int64(min(lim.MemoryBytes, math.MaxInt64))
		res := resourcesOf(spec)
		res.Memory = &specs.LinuxMemory{Limit: &mem}
		if r.SwapAccounting {
			swap := mem
			res.Memory.Swap = &swap
		}
	}
	if lim.CPUShares > 0 {
		shares := lim.CPUShares
		resourcesOf(spec).CPU = &specs.LinuxCPU{Shares: &shares}
	}
	if lim.PidsMax > 0 {
		pids := lim.PidsMax
		resourcesOf(spec).Pids = &specs.LinuxPids{Limit: &pids}
	}
	return nil
}
