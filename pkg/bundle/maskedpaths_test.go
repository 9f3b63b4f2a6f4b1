package bundle

import (
	"slices"
	"testing"

	"github.com/opencontainers/runtime-spec/specs-go"
)

func TestMaskedPaths(t *testing.T) {
	cases := []struct {
		privileged bool
		want       []string
	}{
		{false, maskedPaths},
		{true, nil},
	}
	for _, tc := range cases {
		var spec specs.Spec
		if err := (MaskedPaths{}).Apply(&spec, Desired{Privileged: tc.privileged}); err != nil {
			t.Fatal(err)
		}
		var got []string
		if spec.Linux != nil {
			got = spec.Linux.MaskedPaths
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("privileged=%v: got %v, want %v", tc.privileged, got, tc.want)
		}
	}
	if !slices.Contains(maskedPaths, "/proc/kcore") || len(maskedPaths) != 8 {
		t.Errorf("masked list changed: %v", maskedPaths)
	}
}
