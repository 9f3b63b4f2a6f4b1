package runtime

import (
	goruntime "runtime"
	"slices"
	"testing"
)

// TestCgroupMountsBelowAgreesWithMountinfo: on this host, the hierarchies
// found below /sys/fs/cgroup are those mountinfo lists, so the quick way
// changes nothing where it applies.
func TestCgroupMountsBelowAgreesWithMountinfo(t *testing.T) {
	goruntime.LockOSThread()
	defer goruntime.UnlockOSThread()
	below, ok := cgroupMountsBelow(cgroupRoot)
	if !ok {
		t.Skipf("%s is not the usual layout here: cgroupMounts reads mountinfo", cgroupRoot)
	}
	fromMountinfo, err := cgroupMountsFromMountinfo()
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(below)
	slices.Sort(fromMountinfo)
	if !slices.Equal(below, fromMountinfo) {
		t.Errorf("below %s: %q; mountinfo: %q", cgroupRoot, below, fromMountinfo)
	}
}

// TestCgroupMountsBelowRefusesOtherLayouts: a directory that is neither
// a tmpfs of hierarchies nor cgroup2 is not taken for a layout.
func TestCgroupMountsBelowRefusesOtherLayouts(t *testing.T) {
	for _, dir := range []string{t.TempDir(), "/proc", "/nonexistent"} {
		if m, ok := cgroupMountsBelow(dir); ok {
			t.Errorf("%s taken for a cgroup layout: %q", dir, m)
		}
	}
}
