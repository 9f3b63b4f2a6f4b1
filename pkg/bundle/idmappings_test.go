package bundle

import (
	"reflect"
	"testing"

	"github.com/gdn-dev/gdn/pkg/idmap"
	"github.com/opencontainers/runtime-spec/specs-go"
)

func TestIDMappings(t *testing.T) {
	maximus := idmap.Mappings(4294967294)
	want := []specs.LinuxIDMapping{{ContainerID: 0, HostID: 4294967294, Size: 1}, {ContainerID: 1, HostID: 1, Size: 4294967293}}
	cases := []struct {
		name       string
		rule       IDMappings
		privileged bool
		want       []specs.LinuxIDMapping
		wantErr    bool
	}{
		{name: "unprivileged", rule: IDMappings{UID: maximus, GID: maximus}, want: want},
		{name: "privileged gets none", rule: IDMappings{UID: maximus, GID: maximus}, privileged: true},
		{name: "unprivileged without mappings", rule: IDMappings{UID: maximus}, wantErr: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var spec specs.Spec
			err := tc.rule.Apply(&spec, Desired{Privileged: tc.privileged})
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v", err)
			}
			var uid, gid []specs.LinuxIDMapping
			if spec.Linux != nil {
				uid, gid = spec.Linux.UIDMappings, spec.Linux.GIDMappings
			}
			if !reflect.DeepEqual(uid, tc.want) || !reflect.DeepEqual(gid, tc.want) {
				t.Errorf("got uid %v gid %v, want %v", uid, gid, tc.want)
			}
		})
	}
}
