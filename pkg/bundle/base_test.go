package bundle

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gdn-dev/gdn/pkg/errkind"
	"github.com/opencontainers/runtime-spec/specs-go"
)

func TestBase(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	created := time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.FixedZone("x", 3600))
	cases := []struct {
		name   string
		handle string
		rootfs string
		want   errkind.Kind
	}{
		{"ok", "c1", dir, ""},
		{"invalid handle", "../c1", dir, errkind.InvalidHandle},
		{"relative rootfs", "c1", "rootfs", errkind.InvalidSpec},
		{"missing rootfs", "c1", filepath.Join(dir, "nope"), errkind.InvalidSpec},
		{"rootfs is a file", "c1", file, errkind.InvalidSpec},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var spec specs.Spec
			err := Base{}.Apply(&spec, Desired{Handle: tc.handle, Rootfs: tc.rootfs, Created: created})
			if errkind.Of(err) != tc.want || (tc.want == "") != (err == nil) {
				t.Fatalf("got %v, want kind %q", err, tc.want)
			}
			if err != nil {
				return
			}
			if spec.Version != "1.0.2" || spec.Root.Path != dir || spec.Root.Readonly ||
				spec.Process.Cwd != "/" || spec.Process.Terminal || spec.Linux.RootfsPropagation != "private" {
				t.Errorf("unexpected spec %+v", spec)
			}
			if got := spec.Annotations[AnnotationCreated]; got != "2024-05-06T06:08:09.123456789Z" {
				t.Errorf("created annotation = %q", got)
			}
			if spec.Annotations[AnnotationHandle] != "c1" {
				t.Errorf("handle annotation = %q", spec.Annotations[AnnotationHandle])
			}
		})
	}
}
