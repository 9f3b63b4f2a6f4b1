package bundle

import (
	"slices"
	"testing"

	"github.com/gdn-dev/gdn/pkg/errkind"
	"github.com/opencontainers/runtime-spec/specs-go"
)

func TestEnv(t *testing.T) {
	cases := []struct {
		name     string
		image    []string
		env      []string
		want     []string
		wantKind errkind.Kind
	}{
		{name: "image first", image: []string{"PATH=/bin", "A=1"}, env: []string{"A=2"}, want: []string{"PATH=/bin", "A=1", "A=2"}},
		{name: "empty value", env: []string{"A="}, want: []string{"A="}},
		{name: "value with =", env: []string{"A=b=c"}, want: []string{"A=b=c"}},
		{name: "none", want: nil},
		{name: "no equals", env: []string{"A"}, wantKind: errkind.InvalidSpec},
		{name: "empty name", env: []string{"=x"}, wantKind: errkind.InvalidSpec},
		{name: "bad image entry", image: []string{""}, wantKind: errkind.InvalidSpec},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var spec specs.Spec
			err := Env{}.Apply(&spec, Desired{ImageEnv: tc.image, Env: tc.env})
			if errkind.Of(err) != tc.wantKind || (err == nil) != (tc.wantKind == "") {
				t.Fatalf("got %v, want kind %q", err, tc.wantKind)
			}
			if err == nil && !slices.Equal(spec.Process.Env, tc.want) {
				t.Errorf("got %v, want %v", spec.Process.Env, tc.want)
			}
		})
	}
}
