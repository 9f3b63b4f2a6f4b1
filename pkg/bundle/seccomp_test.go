package bundle

import (
	"fmt"
	goruntime "runtime"
	"slices"
	"testing"

	"github.com/moby/profiles/seccomp"

	"github.com/opencontainers/runtime-spec/specs-go"
)

// allows reports whether the profile has a rule naming syscall.
func allows(p *specs.LinuxSeccomp, syscall string) bool {
	for _, s := range p.Syscalls {
		if slices.Contains(s.Names, syscall) {
			return true
		}
	}
	return false
}

func TestSeccomp(t *testing.T) {
	cases := []struct {
		name       string
		privileged bool
		caps       []string
		nnp        bool
		wantFilter bool
		wantMount  bool
	}{
		{name: "unprivileged", caps: UnprivilegedCapabilities, nnp: true, wantFilter: true},
		{name: "filters on capabilities", caps: append(slices.Clone(UnprivilegedCapabilities), "CAP_SYS_ADMIN"), wantFilter: true, wantMount: true},
		{name: "no capabilities yet", wantFilter: true},
		{name: "privileged", privileged: true, caps: UnprivilegedCapabilities, nnp: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var spec specs.Spec
			if tc.caps != nil {
				spec.Process = &specs.Process{Capabilities: &specs.LinuxCapabilities{Bounding: tc.caps}}
			}
			if err := (Seccomp{NoNewPrivileges: tc.nnp}).Apply(&spec, Desired{Privileged: tc.privileged}); err != nil {
				t.Fatal(err)
			}
			var p *specs.LinuxSeccomp
			if spec.Linux != nil {
				p = spec.Linux.Seccomp
			}
			if (p != nil) != tc.wantFilter {
				t.Fatalf("filter present = %v, want %v", p != nil, tc.wantFilter)
			}
			if p == nil {
				if spec.Process != nil && spec.Process.NoNewPrivileges {
					t.Error("privileged container got no_new_privs")
				}
				return
			}
			if p.DefaultAction != specs.ActErrno || !allows(p, "read") || allows(p, "mount") != tc.wantMount {
				t.Errorf("default %s, read %v, mount %v", p.DefaultAction, allows(p, "read"), allows(p, "mount"))
			}
			if spec.Process.NoNewPrivileges != tc.nnp {
				t.Errorf("no_new_privs = %v, want %v", spec.Process.NoNewPrivileges, tc.nnp)
			}
		})
	}
}

// TestSeccompNoX32 leaves the x32 architecture out only when told the
// kernel runs no x32 syscall, and keeps the others.
func TestSeccompNoX32(t *testing.T) {
	for _, noX32 := range []bool{false, true} {
		spec := specs.Spec{Process: &specs.Process{Capabilities: &specs.LinuxCapabilities{Bounding: UnprivilegedCapabilities}}}
		if err := (Seccomp{NoX32: noX32}).Apply(&spec, Desired{}); err != nil {
			t.Fatal(err)
		}
		archs := spec.Linux.Seccomp.Architectures
		if slices.Contains(archs, specs.ArchX32) == noX32 {
			t.Errorf("NoX32 %v: architectures %v", noX32, archs)
		}
		if goruntime.GOARCH == "amd64" && (!slices.Contains(archs, specs.ArchX86_64) || !slices.Contains(archs, specs.ArchX86)) {
			t.Errorf("NoX32 %v: architectures %v lack x86_64 or x86", noX32, archs)
		}
	}
}

// ruleAllows tells whether r matches syscall name with argument values
// args (OCI semantics: every condition holds).
func ruleAllows(r specs.LinuxSyscall, name string, args [6]uint64) bool {
	if !slices.Contains(r.Names, name) {
		return false
	}
	for _, a := range r.Args {
		v := args[a.Index]
		var ok bool
		switch a.Op {
		case specs.OpEqualTo:
			ok = v == a.Value
		case specs.OpNotEqual:
			ok = v != a.Value
		case specs.OpLessThan:
			ok = v < a.Value
		case specs.OpLessEqual:
			ok = v <= a.Value
		case specs.OpGreaterThan:
			ok = v > a.Value
		case specs.OpGreaterEqual:
			ok = v >= a.Value
		case specs.OpMaskedEqual:
			ok = v&a.Value == a.ValueTwo
		}
		if !ok {
			return false
		}
	}
	return true
}

// verdict is the action of the first rule that matches (moby's rules do
// not overlap with different actions), or the default.
func verdict(p *specs.LinuxSeccomp, rules []specs.LinuxSyscall, name string, args [6]uint64) string {
	for _, r := range rules {
		if ruleAllows(r, name, args) {
			e := uint(0)
			if r.ErrnoRet != nil {
				e = *r.ErrnoRet
			}
			return fmt.Sprint(r.Action, e)
		}
	}
	return string(p.DefaultAction)
}

// TestMergedRulesAllowTheSameCalls: the default profile with its runs of
// one-value rules merged decides every syscall with conditions exactly as
// moby's profile does, for every value of the conditioned argument up to
// 4096 and at the edges of 32 and 64 bits; and the socket families (30
// rules in moby's profile) take a third fewer.
func TestMergedRulesAllowTheSameCalls(t *testing.T) {
	spec := specs.Spec{Process: &specs.Process{Capabilities: &specs.LinuxCapabilities{Bounding: UnprivilegedCapabilities}}}
	orig, err := seccomp.GetDefaultProfile(&spec)
	if err != nil {
		t.Fatal(err)
	}
	merged := mergeEqualRuns(slices.Clone(orig.Syscalls))
	count := func(rules []specs.LinuxSyscall) (n int) {
		for _, r := range rules {
			if slices.Contains(r.Names, "socket") && len(r.Args) > 0 {
				n++
			}
		}
		return n
	}
	if o, m := count(orig.Syscalls), count(merged); o < 20 || m*3 > o*2 {
		t.Errorf("socket rules: %d in moby's profile, %d merged; want at most two thirds", o, m)
	}
	values := []uint64{1<<32 - 1, 1 << 32, 1<<32 + 2, 1<<63 - 1, 1 << 63, 1<<64 - 1, 1<<64 - 2}
	for v := range uint64(4096) {
		values = append(values, v)
	}
	checked := 0
	for _, r := range orig.Syscalls {
		for _, name := range r.Names {
			for _, a := range r.Args {
				for _, v := range values {
					var args [6]uint64
					args[a.Index] = v
					if o, m := verdict(orig, orig.Syscalls, name, args), verdict(orig, merged, name, args); o != m {
						t.Fatalf("%s with arg %d = %d: moby's profile says %s, merged %s", name, a.Index, v, o, m)
					}
					checked++
				}
			}
		}
	}
	if checked == 0 {
		t.Fatal("no conditioned rule checked")
	}
}

func TestAlignedRuns(t *testing.T) {
	got := alignedRuns([]uint64{7, 8, 9, 10, 13, 14, 15, 16, 17, 18, 24, 26, 27, 28, 29, 30, 31, 32, 33, 0})
	want := []run{{0, 1}, {7, 1}, {8, 2}, {10, 1}, {13, 1}, {14, 2}, {16, 2}, {18, 1}, {24, 1}, {26, 2}, {28, 4}, {32, 2}}
	if !slices.Equal(got, want) {
		t.Errorf("alignedRuns = %v, want %v", got, want)
	}
	// A run that would reach past the top is not taken: exact, if longer.
	if got := alignedRuns([]uint64{1<<64 - 1, 1<<64 - 2}); !slices.Equal(got, []run{{1<<64 - 2, 1}, {1<<64 - 1, 1}}) {
		t.Errorf("top of the range: %v", got)
	}
}
