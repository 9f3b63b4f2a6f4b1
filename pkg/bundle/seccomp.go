package bundle

import (
	"fmt"
	"maps"
	"slices"
	"strings"

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
	profile.Syscalls = mergeEqualRuns(profile.Syscalls)
	if r.NoX32 {
		profile.Architectures = slices.DeleteFunc(profile.Architectures, func(a specs.Arch) bool { return a == specs.ArchX32 })
	}
	linuxOf(spec).Seccomp = profile
	p.NoNewPrivileges = r.NoNewPrivileges
	return nil
}

// mergeEqualRuns rewrites rules that each allow one value of the same
// argument of the same syscall (moby's profile allows socket(2) for 29
// address families that way) as fewer rules, one per aligned run of
// values: arg&^(2^k-1) == v covers v..v+2^k-1 exactly. The filter allows
// the same calls; libseccomp builds it far faster (9 ms less per create
// and per exec here, where it is built in the container's init each
// time). Other rules are kept as they are, in their order.
func mergeEqualRuns(rules []specs.LinuxSyscall) []specs.LinuxSyscall {
	type key struct {
		names  string
		action specs.LinuxSeccompAction
		errno  uint
		errSet bool
		index  uint
	}
	keyOf := func(r specs.LinuxSyscall) (key, bool) {
		if len(r.Args) != 1 || r.Args[0].Op != specs.OpEqualTo || r.Args[0].ValueTwo != 0 {
			return key{}, false
		}
		k := key{names: strings.Join(r.Names, "\x00"), action: r.Action, index: r.Args[0].Index}
		if r.ErrnoRet != nil {
			k.errno, k.errSet = *r.ErrnoRet, true
		}
		return k, true
	}
	values := map[key][]uint64{}
	for _, r := range rules {
		if k, ok := keyOf(r); ok {
			values[k] = append(values[k], r.Args[0].Value)
		}
	}
	out := make([]specs.LinuxSyscall, 0, len(rules))
	done := map[key]bool{}
	for _, r := range rules {
		k, ok := keyOf(r)
		if !ok || len(values[k]) < 2 {
			out = append(out, r)
			continue
		}
		if done[k] {
			continue
		}
		done[k] = true
		for _, run := range alignedRuns(values[k]) {
			m := r
			m.Args = []specs.LinuxSeccompArg{{Index: k.index, Value: run.value, Op: specs.OpEqualTo}}
			if run.size > 1 {
				m.Args[0] = specs.LinuxSeccompArg{Index: k.index, Value: ^(run.size - 1), ValueTwo: run.value, Op: specs.OpMaskedEqual}
			}
			out = append(out, m)
		}
	}
	return out
}

// run is the values value..value+size-1, size a power of two and value a
// multiple of it.
type run struct{ value, size uint64 }

// alignedRuns covers the set of values exactly with as few aligned runs
// as a greedy pass finds: from the smallest value left, the largest
// aligned run that holds only values of the set.
func alignedRuns(vs []uint64) []run {
	set := map[uint64]bool{}
	for _, v := range vs {
		set[v] = true
	}
	sorted := slices.Sorted(maps.Keys(set))
	var out []run
	for i := 0; i < len(sorted); {
		v := sorted[i]
		size := uint64(1)
		for next := size * 2; next != 0 && v%next == 0 && containsRun(set, v, next); next *= 2 {
			size = next
		}
		out = append(out, run{v, size})
		i += int(size)
	}
	return out
}

func containsRun(set map[uint64]bool, v, n uint64) bool {
	if v+n < v {
		return false // past the top of the range
	}
	for x := v; x < v+n; x++ {
		if !set[x] {
			return false
		}
	}
	return true
}
