package bundle

import (
	"reflect"
	"testing"

	"github.com/opencontainers/runtime-spec/specs-go"
)

func TestRlimits(t *testing.T) {
	core := specs.POSIXRlimit{Type: "RLIMIT_CORE", Hard: 0, Soft: 0}
	cases := []struct {
		name   string
		nofile uint64
		before []specs.POSIXRlimit
		want   []specs.POSIXRlimit
	}{
		{name: "set", nofile: 20000, want: []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Hard: 20000, Soft: 20000}}},
		{name: "unset", nofile: 0, before: []specs.POSIXRlimit{core}, want: []specs.POSIXRlimit{core}},
		{name: "replaces", nofile: 10, before: []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Hard: 1, Soft: 1}, core},
			want: []specs.POSIXRlimit{core, {Type: "RLIMIT_NOFILE", Hard: 10, Soft: 10}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			spec := specs.Spec{Process: &specs.Process{Rlimits: tc.before}}
			if err := (Rlimits{Nofile: tc.nofile}).Apply(&spec, Desired{}); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(spec.Process.Rlimits, tc.want) {
				t.Errorf("got %v, want %v", spec.Process.Rlimits, tc.want)
			}
		})
	}
}
