package bundle

import (
	"strings"
	"testing"

	"github.com/opencontainers/runtime-spec/specs-go"
)

func TestHostname(t *testing.T) {
	long := strings.Repeat("a", 27) + strings.Repeat("b", 49)
	cases := []struct{ handle, want string }{
		{"c1", "c1"},
		{strings.Repeat("x", 49), strings.Repeat("x", 49)},
		{"y" + strings.Repeat("x", 49), strings.Repeat("x", 49)},
		{long, strings.Repeat("b", 49)},
	}
	for _, tc := range cases {
		var spec specs.Spec
		if err := (Hostname{}).Apply(&spec, Desired{Handle: tc.handle}); err != nil {
			t.Fatal(err)
		}
		if spec.Hostname != tc.want {
			t.Errorf("handle %q: hostname %q, want %q", tc.handle, spec.Hostname, tc.want)
		}
	}
}
