package bundle

import (
	goruntime "runtime"
	"slices"
	"testing"

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
