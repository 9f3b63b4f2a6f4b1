package runtime

import (
	"testing"
	"time"

	"github.com/opencontainers/cgroups"
)

func TestUsageTowardLimit(t *testing.T) {
	cases := []struct {
		name string
		stat map[string]uint64
		v2   bool
		want uint64
	}{
		{"v1", map[string]uint64{"total_rss": 100, "total_cache": 50, "total_swap": 10, "total_inactive_file": 30, "rss": 999}, false, 130},
		{"v1 floor", map[string]uint64{"total_rss": 1, "total_inactive_file": 30}, false, 0},
		{"v2", map[string]uint64{"anon": 100, "file": 50, "swapcached": 10, "inactive_file": 30, "total_rss": 999}, true, 130},
		{"v2 floor", map[string]uint64{"anon": 1, "inactive_file": 2}, true, 0},
		{"empty", nil, false, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := usageTowardLimit(c.stat, c.v2); got != c.want {
				t.Errorf("got %d, want %d", got, c.want)
			}
		})
	}
}

func TestStatsFrom(t *testing.T) {
	cg := &cgroups.Stats{}
	cg.MemoryStats.Usage.Usage = 4096
	cg.MemoryStats.Usage.Limit = 1 << 26
	cg.MemoryStats.Stats = map[string]uint64{"total_rss": 4096}
	cg.CpuStats.CpuUsage.TotalUsage = 7
	cg.PidsStats = cgroups.PidsStats{Current: 3, Limit: 20}
	s := statsFrom("c1", time.Now().Add(-time.Second), cg, false)
	if s.Memory.UsageBytes != 4096 || s.Memory.LimitBytes != 1<<26 || s.Memory.TotalUsageTowardLimit != 4096 {
		t.Errorf("memory: %+v", s.Memory)
	}
	if s.CPU.UsageNs != 7 || s.Pids.Current != 3 || s.Pids.Limit != 20 || s.Age < int64(time.Second) {
		t.Errorf("stats: %+v", s)
	}
}
