package bundle

import (
	"encoding/json"
	"testing"

	"github.com/opencontainers/runtime-spec/specs-go"
)

func TestDevices(t *testing.T) {
	cases := []struct {
		privileged  bool
		wantDevices string
		wantAllow   string
	}{
		{false, "null", "null"},
		{true,
			`[{"path":"/dev/fuse","type":"c","major":10,"minor":229,"fileMode":438,"uid":0,"gid":0}]`,
			`[{"allow":true,"type":"c","major":10,"minor":229,"access":"rwm"},{"allow":true,"type":"c","major":10,"minor":200,"access":"rwm"}]`},
	}
	for _, tc := range cases {
		var spec specs.Spec
		if err := (Devices{}).Apply(&spec, Desired{Privileged: tc.privileged}); err != nil {
			t.Fatal(err)
		}
		var devices, allow any
		if spec.Linux != nil {
			devices, allow = spec.Linux.Devices, spec.Linux.Resources.Devices
		}
		d, _ := json.Marshal(devices)
		a, _ := json.Marshal(allow)
		if string(d) != tc.wantDevices || string(a) != tc.wantAllow {
			t.Errorf("privileged=%v: devices %s allow %s", tc.privileged, d, a)
		}
	}
}
