package bundle

import (
	"testing"

	"github.com/opencontainers/runtime-spec/specs-go"
)

func TestCgroup(t *testing.T) {
	cases := []struct {
		name       string
		parent     string
		privileged bool
		want       string
		wantErr    bool
	}{
		{name: "unprivileged", parent: "/garden", want: "/garden/c1"},
		{name: "privileged too", parent: "/garden", privileged: true, want: "/garden/c1"},
		{name: "nested parent", parent: "/garden/good/", want: "/garden/good/c1"},
		{name: "relative parent", parent: "garden", wantErr: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var spec specs.Spec
			err := Cgroup{Parent: tc.parent}.Apply(&spec, Desired{Handle: "c1", Privileged: tc.privileged})
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v", err)
			}
			if err == nil && spec.Linux.CgroupsPath != tc.want {
				t.Errorf("got %q, want %q", spec.Linux.CgroupsPath, tc.want)
			}
		})
	}
}
