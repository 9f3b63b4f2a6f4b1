package bundle

import (
	"testing"

	"github.com/opencontainers/runtime-spec/specs-go"
)

func TestNamespaces(t *testing.T) {
	cases := []struct {
		privileged bool
		want       []specs.LinuxNamespaceType
	}{
		{false, []specs.LinuxNamespaceType{"mount", "uts", "ipc", "pid", "network", "user"}},
		{true, []specs.LinuxNamespaceType{"mount", "uts", "ipc", "pid", "network"}},
	}
	for _, tc := range cases {
		spec := specs.Spec{Linux: &specs.Linux{Namespaces: []specs.LinuxNamespace{{Type: "cgroup"}}}}
		if err := (Namespaces{}).Apply(&spec, Desired{Privileged: tc.privileged}); err != nil {
			t.Fatal(err)
		}
		var got []specs.LinuxNamespaceType
		for _, ns := range spec.Linux.Namespaces {
			if ns.Path != "" {
				t.Errorf("namespace %s has a path", ns.Type)
			}
			got = append(got, ns.Type)
		}
		if len(got) != len(tc.want) {
			t.Fatalf("privileged=%v: got %v, want %v", tc.privileged, got, tc.want)
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("privileged=%v: got %v, want %v", tc.privileged, got, tc.want)
			}
		}
	}
}
