package bundle

import (
	"slices"
	"testing"

	"github.com/opencontainers/runtime-spec/specs-go"
)

func TestCapabilities(t *testing.T) {
	host := []string{"CAP_CHOWN", "CAP_SYS_ADMIN", "CAP_NET_ADMIN", "CAP_BPF"}
	cases := []struct {
		name       string
		host       []string
		privileged bool
		want       []string
		wantErr    bool
	}{
		{name: "unprivileged ignores the host set", host: host, want: UnprivilegedCapabilities},
		{name: "privileged gets the reference's list within the host set", host: host, privileged: true,
			want: []string{"CAP_CHOWN", "CAP_NET_ADMIN", "CAP_SYS_ADMIN"}},
		{name: "privileged without a host set", privileged: true, wantErr: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var spec specs.Spec
			err := Capabilities{Host: tc.host}.Apply(&spec, Desired{Privileged: tc.privileged})
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v", err)
			}
			if tc.wantErr {
				return
			}
			c := spec.Process.Capabilities
			for _, set := range [][]string{c.Bounding, c.Effective, c.Inheritable, c.Permitted} {
				if !slices.Equal(set, tc.want) {
					t.Errorf("got %v, want %v", set, tc.want)
				}
			}
			if len(c.Ambient) != 0 {
				t.Errorf("ambient set %v, want none", c.Ambient)
			}
		})
	}
	if len(UnprivilegedCapabilities) != 14 || slices.Contains(UnprivilegedCapabilities, "CAP_SYS_ADMIN") {
		t.Errorf("unprivileged set changed: %v", UnprivilegedCapabilities)
	}
}

func TestParseBoundingSet(t *testing.T) {
	cases := []struct {
		name    string
		status  string
		want    []string
		wantErr bool
	}{
		{name: "chown and kill", status: "Name:\tx\nCapBnd:\t0000000000000021\n", want: []string{"CAP_CHOWN", "CAP_KILL"}},
		{name: "empty set", status: "CapBnd:\t0000000000000000\n", want: nil},
		{name: "no line", status: "Name:\tx\n", wantErr: true},
		{name: "bad hex", status: "CapBnd:\tzz\n", wantErr: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseBoundingSet(tc.status)
			if (err != nil) != tc.wantErr || !slices.Equal(got, tc.want) {
				t.Errorf("got %v %v, want %v (err %v)", got, err, tc.want, tc.wantErr)
			}
		})
	}
	// This host's set, which lacks CAP_SYS_RESOURCE (bit 24).
	got, err := ParseBoundingSet("CapBnd:\t000001fffeffffff\n")
	if err != nil || slices.Contains(got, "CAP_SYS_RESOURCE") || !slices.Contains(got, "CAP_CHECKPOINT_RESTORE") || len(got) != 40 {
		t.Errorf("got %d caps %v, err %v", len(got), got, err)
	}
}

// The reference's lists, as bit masks: the privileged one stops at
// CAP_AUDIT_READ (37); a non-root user is held to 0xa82425fb.
func TestCapabilityListsMatchTheReference(t *testing.T) {
	mask := func(names []string) uint64 {
		all, err := ParseBoundingSet("CapBnd:\tffffffffffffffff\n")
		if err != nil {
			t.Fatal(err)
		}
		var m uint64
		for _, n := range names {
			i := slices.Index(all, n)
			if i < 0 {
				t.Fatalf("unknown capability %s", n)
			}
			m |= 1 << uint(i)
		}
		return m
	}
	if got := mask(PrivilegedCapabilities); got != 1<<38-1 || len(PrivilegedCapabilities) != 38 {
		t.Errorf("privileged mask %#x (%d names), want 0x3fffffffff", got, len(PrivilegedCapabilities))
	}
	if got := mask(NonRootCapabilities); got != 0xa82425fb {
		t.Errorf("non-root mask %#x, want 0xa82425fb", got)
	}
}

func TestForNonRoot(t *testing.T) {
	var spec specs.Spec
	if err := (Capabilities{Host: PrivilegedCapabilities}).Apply(&spec, Desired{Privileged: true}); err != nil {
		t.Fatal(err)
	}
	got := ForNonRoot(spec.Process.Capabilities)
	for _, set := range [][]string{got.Bounding, got.Effective, got.Inheritable, got.Permitted} {
		if len(set) != len(NonRootCapabilities) || !slices.Contains(set, "CAP_SYS_ADMIN") || slices.Contains(set, "CAP_NET_ADMIN") {
			t.Errorf("non-root set %v", set)
		}
	}
	if got.Ambient != nil {
		t.Errorf("ambient %v, want none", got.Ambient)
	}
	if ForNonRoot(nil) != nil {
		t.Error("nil capabilities became some")
	}
	// An unprivileged container's set is already within the bound.
	spec = specs.Spec{}
	_ = Capabilities{}.Apply(&spec, Desired{})
	if got := ForNonRoot(spec.Process.Capabilities); !slices.Equal(got.Bounding, UnprivilegedCapabilities) {
		t.Errorf("unprivileged non-root set %v", got.Bounding)
	}
}
