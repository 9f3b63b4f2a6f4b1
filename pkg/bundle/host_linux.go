package bundle

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/gdn-dev/gdn/pkg/idmap"
	"golang.org/x/sys/unix"
)

// cgroupRoot is where the host's cgroup file systems are mounted.
const cgroupRoot = "/sys/fs/cgroup"

// HostConfig probes the running host and returns a Config with everything
// but InitPath and NoNewPrivileges set: the maximus id mappings, the
// bounding capability set, the cgroup version, swap accounting, and
// RLIMIT_NOFILE at this process's hard limit.
func HostConfig() (Config, error) {
	uidMax, err := idmap.ReadMaximus(idmap.UIDMapPath)
	if err != nil {
		return Config{}, err
	}
	gidMax, err := idmap.ReadMaximus(idmap.GIDMapPath)
	if err != nil {
		return Config{}, err
	}
	caps, err := BoundingCapabilities()
	if err != nil {
		return Config{}, err
	}
	v1, err := CgroupV1()
	if err != nil {
		return Config{}, err
	}
	var rl unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &rl); err != nil {
		return Config{}, fmt.Errorf("getrlimit nofile: %w", err)
	}
	return Config{
		CgroupParent:     DefaultCgroupParent,
		UIDMappings:      idmap.Mappings(uidMax),
		GIDMappings:      idmap.Mappings(gidMax),
		HostCapabilities: caps,
		CgroupV1:         v1,
		SwapAccounting:   swapAccounting(v1),
		Nofile:           rl.Max,
		NoX32:            !X32Syscalls(),
	}, nil
}

// x32Getpid is getpid(2) in the x32 ABI (__X32_SYSCALL_BIT | 39).
const x32Getpid = 0x40000000 | 39

// X32Syscalls tells whether the kernel runs x32 syscalls: a kernel
// without them answers every one ENOSYS before any filter could see it.
func X32Syscalls() bool {
	_, _, errno := unix.RawSyscall(x32Getpid, 0, 0, 0)
	return errno != unix.ENOSYS
}

// CgroupV1 reports whether /sys/fs/cgroup is a cgroup v1 or hybrid layout
// (anything but a cgroup2 mount).
func CgroupV1() (bool, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(cgroupRoot, &st); err != nil {
		return false, fmt.Errorf("statfs %q: %w", cgroupRoot, err)
	}
	return st.Type != unix.CGROUP2_SUPER_MAGIC, nil
}

// swapAccounting reports whether the memory controller can limit swap:
// the memsw files exist on v1 only with swap accounting compiled in and
// enabled; on v2 the memory.swap.max files exist in non-root cgroups.
func swapAccounting(v1 bool) bool {
	if v1 {
		_, err := os.Stat(filepath.Join(cgroupRoot, "memory", "memory.memsw.limit_in_bytes"))
		return err == nil
	}
	matches, _ := filepath.Glob(filepath.Join(cgroupRoot, "*", "memory.swap.max"))
	return len(matches) > 0
}
