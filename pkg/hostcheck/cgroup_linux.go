package hostcheck

import (
	"bufio"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// v1Needed are the cgroup v1 controllers gdn-run's containers use:
// limits (memory, cpu, pids), accounting (cpuacct), the device allow-list
// (devices) and freezing on kill (freezer).
var v1Needed = []string{"memory", "cpu", "cpuacct", "pids", "devices", "freezer"}

// v2Needed are the same on a cgroup v2 (unified) host.
var v2Needed = []string{"memory", "cpu", "pids"}

// unifiedAt reports whether dir is a cgroup2 mount.
func unifiedAt(dir string) bool {
	var st unix.Statfs_t
	return unix.Statfs(dir, &st) == nil && st.Type == unix.CGROUP2_SUPER_MAGIC
}

// v1Controllers returns the enabled v1 controllers that are mounted
// (attached to a hierarchy other than 0).
func v1Controllers() map[string]bool {
	out := map[string]bool{}
	f, err := os.Open("/proc/cgroups")
	if err != nil {
		return out
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) == 4 && !strings.HasPrefix(fs[0], "#") && fs[1] != "0" && fs[3] == "1" {
			out[fs[0]] = true
		}
	}
	return out
}

func checkCgroupV1() Result {
	const name = "cgroup v1 controllers"
	if unifiedAt("/sys/fs/cgroup") {
		return ok(name, "not used: /sys/fs/cgroup is cgroup v2 (unified)")
	}
	have := v1Controllers()
	var lacking, got []string
	for _, c := range v1Needed {
		if have[c] {
			got = append(got, c)
		} else {
			lacking = append(lacking, c)
		}
	}
	if len(lacking) > 0 {
		return missing(name, "not mounted: "+strings.Join(lacking, ", "),
			"mount each under /sys/fs/cgroup/NAME (systemd does on a hybrid host), or boot with systemd.unified_cgroup_hierarchy=1 for v2", true)
	}
	return ok(name, strings.Join(got, ", "))
}

func checkCgroupV2() Result {
	const name = "cgroup v2"
	for _, dir := range []string{"/sys/fs/cgroup", "/sys/fs/cgroup/unified"} {
		if !unifiedAt(dir) {
			continue
		}
		b, _ := os.ReadFile(dir + "/cgroup.controllers")
		have := strings.Fields(string(b))
		if dir == "/sys/fs/cgroup/unified" {
			// Hybrid: v1 holds the controllers; v2 is beside it.
			ctl := "no controllers"
			if len(have) > 0 {
				ctl = "controllers " + strings.Join(have, ", ")
			}
			return ok(name, "hybrid: v2 at "+dir+" ("+ctl+"), containers use v1")
		}
		var lacking []string
		for _, c := range v2Needed {
			if !strings.Contains(" "+string(b)+" ", " "+c+" ") {
				lacking = append(lacking, c)
			}
		}
		if len(lacking) > 0 {
			return missing(name, "unified at "+dir+", lacks "+strings.Join(lacking, ", "),
				"enable them: echo +memory +cpu +pids > "+dir+"/cgroup.subtree_control", true)
		}
		return ok(name, "unified at "+dir+": "+strings.Join(have, ", "))
	}
	return ok(name, "not mounted (containers use v1)")
}
