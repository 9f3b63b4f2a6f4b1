package bundle

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/gdn-dev/gdn/pkg/errkind"
	"github.com/opencontainers/runtime-spec/specs-go"
)

func TestInit(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "gdn-init")
	if err := os.WriteFile(bin, nil, 0o755); err != nil {
		t.Fatal(err)
	}
	nosuid := func(string) ([]string, error) { return []string{"nosuid"}, nil }
	broken := func(string) ([]string, error) { return nil, errors.New("statfs failed") }
	cases := []struct {
		name     string
		rule     Init
		wantOpts []string
		wantErr  bool
		wantKind errkind.Kind
	}{
		{name: "ok", rule: Init{Path: bin, MountFlags: nosuid}, wantOpts: []string{"bind", "ro", "nosuid"}},
		{name: "relative", rule: Init{Path: "gdn-init", MountFlags: nosuid}, wantErr: true, wantKind: errkind.InvalidSpec},
		{name: "missing", rule: Init{Path: filepath.Join(dir, "nope"), MountFlags: nosuid}, wantErr: true, wantKind: errkind.InvalidSpec},
		{name: "a directory", rule: Init{Path: dir, MountFlags: nosuid}, wantErr: true, wantKind: errkind.InvalidSpec},
		{name: "flags unreadable", rule: Init{Path: bin, MountFlags: broken}, wantErr: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			spec := specs.Spec{Mounts: []specs.Mount{{Destination: "/proc"}}}
			err := tc.rule.Apply(&spec, Desired{})
			if (err != nil) != tc.wantErr || errkind.Of(err) != tc.wantKind {
				t.Fatalf("got %v, want error %v of kind %q", err, tc.wantErr, tc.wantKind)
			}
			if err != nil {
				return
			}
			if len(spec.Mounts) != 2 {
				t.Fatalf("mounts = %v", spec.Mounts)
			}
			m := spec.Mounts[1]
			if m.Destination != "/tmp/garden-init" || m.Source != bin || m.Type != "bind" || !slices.Equal(m.Options, tc.wantOpts) {
				t.Errorf("init mount = %+v", m)
			}
			if !slices.Equal(spec.Process.Args, []string{"/tmp/garden-init"}) {
				t.Errorf("args = %v", spec.Process.Args)
			}
		})
	}
}
