package bundle

import (
	"slices"
	"testing"

	"github.com/gdn-dev/gdn/pkg/testutil"
	"golang.org/x/sys/unix"
)

func TestStatfsFlags(t *testing.T) {
	testutil.RequireRoot(t)
	plain, locked := t.TempDir(), t.TempDir()
	if err := unix.Mount("tmpfs", locked, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "size=64k"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = unix.Unmount(locked, unix.MNT_DETACH) })
	if err := unix.Mount("tmpfs", plain, "tmpfs", 0, "size=64k"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = unix.Unmount(plain, unix.MNT_DETACH) })

	cases := []struct {
		path string
		want []string
	}{
		{locked, []string{"nodev", "noexec", "nosuid"}},
		{plain, nil},
	}
	for _, tc := range cases {
		got, err := statfsFlags(tc.path)
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("statfsFlags(%q) = %v, %v; want %v", tc.path, got, err, tc.want)
		}
	}
	if _, err := statfsFlags("/no/such/path"); err == nil {
		t.Error("want an error for a missing path")
	}
}
