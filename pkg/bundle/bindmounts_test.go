package bundle

import (
	"path/filepath"
	"slices"
	"testing"

	"github.com/gdn-dev/gdn/pkg/errkind"
	"github.com/opencontainers/runtime-spec/specs-go"
)

func TestBindMounts(t *testing.T) {
	src := t.TempDir()
	noexec := func(string) ([]string, error) { return []string{"nodev", "noexec"}, nil }
	cases := []struct {
		name     string
		mount    BindMount
		wantOpts []string
		wantKind errkind.Kind
	}{
		{name: "read-only", mount: BindMount{src, "/data", true}, wantOpts: []string{"bind", "ro", "nodev", "noexec"}},
		{name: "read-write", mount: BindMount{src, "/data", false}, wantOpts: []string{"bind", "rw", "nodev", "noexec"}},
		{name: "relative source", mount: BindMount{"data", "/data", true}, wantKind: errkind.InvalidSpec},
		{name: "missing source", mount: BindMount{filepath.Join(src, "nope"), "/data", true}, wantKind: errkind.InvalidSpec},
		{name: "relative destination", mount: BindMount{src, "data", true}, wantKind: errkind.InvalidSpec},
		{name: "unclean destination", mount: BindMount{src, "/data/../etc", true}, wantKind: errkind.InvalidSpec},
		{name: "trailing slash", mount: BindMount{src, "/data/", true}, wantKind: errkind.InvalidSpec},
		{name: "root destination", mount: BindMount{src, "/", true}, wantKind: errkind.InvalidSpec},
		{name: "init destination", mount: BindMount{src, "/tmp/garden-init", true}, wantKind: errkind.InvalidSpec},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			spec := specs.Spec{Mounts: []specs.Mount{{Destination: "/proc"}}}
			err := BindMounts{MountFlags: noexec}.Apply(&spec, Desired{BindMounts: []BindMount{tc.mount}})
			if errkind.Of(err) != tc.wantKind || (err == nil) != (tc.wantKind == "") {
				t.Fatalf("got %v, want kind %q", err, tc.wantKind)
			}
			if err != nil {
				return
			}
			want := specs.Mount{Destination: "/data", Type: "bind", Source: src, Options: tc.wantOpts}
			if len(spec.Mounts) != 2 || spec.Mounts[0].Destination != "/proc" {
				t.Fatalf("mounts = %v", spec.Mounts)
			}
			got := spec.Mounts[1]
			if got.Destination != want.Destination || got.Source != want.Source || got.Type != want.Type || !slices.Equal(got.Options, want.Options) {
				t.Errorf("got %+v, want %+v", got, want)
			}
		})
	}
}
