package bundle

import (
	"encoding/json"
	"math"
	"testing"

	"github.com/gdn-dev/gdn/pkg/errkind"
	"github.com/opencontainers/runtime-spec/specs-go"
)

func TestCgroupLimits(t *testing.T) {
	cases := []struct {
		name     string
		swap     bool
		limits   Limits
		want     string // JSON of linux.resources, "" for none
		wantKind errkind.Kind
	}{
		{name: "none", want: ""},
		{name: "memory with swap", swap: true, limits: Limits{MemoryBytes: 64 << 20},
			want: `{"memory":{"limit":67108864,"swap":67108864}}`},
		{name: "memory without swap accounting", limits: Limits{MemoryBytes: 64 << 20},
			want: `{"memory":{"limit":67108864}}`},
		{name: "memory capped", limits: Limits{MemoryBytes: math.MaxUint64},
			want: `{"memory":{"limit":9223372036854775807}}`},
		{name: "cpu and pids", limits: Limits{CPUShares: 512, PidsMax: 100},
			want: `{"cpu":{"shares":512},"pids":{"limit":100}}`},
		{name: "two shares", limits: Limits{CPUShares: 2}, want: `{"cpu":{"shares":2}}`},
		{name: "one share", limits: Limits{CPUShares: 1}, wantKind: errkind.InvalidSpec},
		{name: "negative pids", limits: Limits{PidsMax: -1}, wantKind: errkind.InvalidSpec},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var spec specs.Spec
			err := CgroupLimits{SwapAccounting: tc.swap}.Apply(&spec, Desired{Limits: tc.limits})
			if errkind.Of(err) != tc.wantKind || (err == nil) != (tc.wantKind == "") {
				t.Fatalf("got %v, want kind %q", err, tc.wantKind)
			}
			if err != nil {
				return
			}
			got := ""
			if spec.Linux != nil && spec.Linux.Resources != nil {
				b, _ := json.Marshal(spec.Linux.Resources)
				got = string(b)
			}
			if got != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
}
