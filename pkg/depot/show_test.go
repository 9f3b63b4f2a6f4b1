package depot

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/gdn-dev/gdn/pkg/bundle"
	"github.com/gdn-dev/gdn/pkg/errkind"
	"github.com/opencontainers/runtime-spec/specs-go"
)

func TestShow(t *testing.T) {
	d := newDepot(t)
	mem, pids, shares := int64(64<<20), int64(100), uint64(512)
	created := time.Date(2025, 1, 2, 3, 4, 5, 6, time.UTC)
	unpriv := &specs.Spec{
		Root:        &specs.Root{Path: "/rootfs/u"},
		Annotations: map[string]string{bundle.AnnotationCreated: created.Format(time.RFC3339Nano)},
		Linux: &specs.Linux{
			Namespaces: []specs.LinuxNamespace{{Type: specs.PIDNamespace}, {Type: specs.UserNamespace}},
			Resources: &specs.LinuxResources{
				Memory: &specs.LinuxMemory{Limit: &mem},
				CPU:    &specs.LinuxCPU{Shares: &shares},
				Pids:   &specs.LinuxPids{Limit: &pids},
			},
		},
	}
	if _, err := d.Create(context.Background(), "u", unpriv, map[string]string{"k": "v"}); err != nil {
		t.Fatal(err)
	}
	mustCreate(t, d, "p", nil)

	cases := []struct {
		handle string
		want   Summary
	}{
		{"u", Summary{
			Handle: "u", Bundle: filepath.Join(d.Dir(), "u"), Rootfs: "/rootfs/u", Privileged: false,
			Limits:  Limits{MemoryBytes: mem, CPUShares: shares, PidsMax: pids},
			Created: created, Properties: map[string]string{"k": "v"},
		}},
		{"p", Summary{Handle: "p", Bundle: filepath.Join(d.Dir(), "p"), Rootfs: "/rootfs/p", Privileged: true, Properties: map[string]string{}}},
	}
	for _, tc := range cases {
		got, err := d.Show(tc.handle)
		if err != nil {
			t.Fatal(err)
		}
		if tc.want.Created.IsZero() {
			// No annotation: the time config.json was written.
			fi, _ := os.Stat(filepath.Join(d.Dir(), tc.handle, ConfigFile))
			tc.want.Created = fi.ModTime().UTC()
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Show(%q) = %+v\nwant %+v", tc.handle, got, tc.want)
		}
	}
	if _, err := d.Show("nope"); errkind.Of(err) != errkind.ContainerNotFound {
		t.Errorf("unknown handle: %v", err)
	}
}
