package runtime

import (
	"time"

	"github.com/opencontainers/cgroups"
)

// Stats is a container's resource usage, from its cgroup.
type Stats struct {
	Handle string      `json:"handle"`
	Age    int64       `json:"age_ns"`
	Memory MemoryStats `json:"memory"`
	CPU    CPUStats    `json:"cpu"`
	Pids   PidsStats   `json:"pids"`
}

// MemoryStats is the memory part of Stats.
type MemoryStats struct {
	// UsageBytes is the kernel's usage counter (includes all page cache).
	UsageBytes uint64 `json:"usage_bytes"`
	// LimitBytes is the cgroup's limit (a huge number when unlimited).
	LimitBytes uint64 `json:"limit_bytes"`
	// TotalUsageTowardLimit is what Garden reports as the memory that
	// counts toward the limit: see usageTowardLimit.
	TotalUsageTowardLimit uint64 `json:"total_usage_toward_limit"`
	// Stat is the raw memory.stat of the cgroup.
	Stat map[string]uint64 `json:"stat"`
}

// CPUStats is the cpu part of Stats, in nanoseconds.
type CPUStats struct {
	UsageNs  uint64 `json:"usage_ns"`
	UserNs   uint64 `json:"user_ns"`
	SystemNs uint64 `json:"system_ns"`
}

// PidsStats is the pids part of Stats; Limit is 0 when unlimited.
type PidsStats struct {
	Current uint64 `json:"current"`
	Limit   uint64 `json:"limit"`
}

// usageTowardLimit computes Garden's TotalUsageTowardLimit from memory.stat:
// resident and cached memory plus swap, less the inactive file cache the
// kernel can drop before it would OOM-kill. cgroup v1 keys are total_* (the
// hierarchy totals); v2 names them file/anon/swapcached. Floored at 0.
func usageTowardLimit(stat map[string]uint64, v2 bool) uint64 {
	var used, reclaimable uint64
	if v2 {
		used = stat["file"] + stat["anon"] + stat["swapcached"]
		reclaimable = stat["inactive_file"]
	} else {
		used = stat["total_rss"] + stat["total_cache"] + stat["total_swap"]
		reclaimable = stat["total_inactive_file"]
	}
	if reclaimable > used {
		return 0
	}
	return used - reclaimable
}

// statsFrom converts libcontainer's cgroup stats.
func statsFrom(h string, created time.Time, cg *cgroups.Stats, v2 bool) Stats {
	s := Stats{Handle: h, Age: int64(time.Since(created))}
	if cg == nil {
		return s
	}
	m := cg.MemoryStats
	s.Memory = MemoryStats{
		UsageBytes:            m.Usage.Usage,
		LimitBytes:            m.Usage.Limit,
		TotalUsageTowardLimit: usageTowardLimit(m.Stats, v2),
		Stat:                  m.Stats,
	}
	u := cg.CpuStats.CpuUsage
	s.CPU = CPUStats{UsageNs: u.TotalUsage, UserNs: u.UsageInUsermode, SystemNs: u.UsageInKernelmode}
	s.Pids = PidsStats{Current: cg.PidsStats.Current, Limit: cg.PidsStats.Limit}
	return s
}
