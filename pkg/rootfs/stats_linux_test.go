package rootfs

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// Stats counts what was just written, without waiting for btrfs's
// periodic commit, and reads the same figure btrfs-progs shows.
func TestStatsAreFresh(t *testing.T) {
	s := testStore(t, nil)
	image := t.TempDir()
	if err := os.WriteFile(filepath.Join(image, "hello"), bytes.Repeat([]byte("x"), 64<<10), 0o644); err != nil {
		t.Fatal(err)
	}
	src, err := ParseURI(image)
	if err != nil {
		t.Fatal(err)
	}
	spec, err := s.Create(context.Background(), CreateRequest{Handle: "fresh", Source: src})
	if err != nil {
		t.Fatal(err)
	}
	before, err := s.Stats("fresh")
	if err != nil {
		t.Fatal(err)
	}
	if before.TotalBytesUsed <= before.ExclusiveBytesUsed {
		t.Errorf("total %d does not include the image (exclusive %d)", before.TotalBytesUsed, before.ExclusiveBytesUsed)
	}
	if err := os.WriteFile(filepath.Join(spec.Root.Path, "blob"), bytes.Repeat([]byte{1}, 3<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	after, err := s.Stats("fresh")
	if err != nil {
		t.Fatal(err)
	}
	if after.ExclusiveBytesUsed < before.ExclusiveBytesUsed+3<<20 {
		t.Errorf("exclusive %d bytes right after writing 3 MiB (before: %d)", after.ExclusiveBytesUsed, before.ExclusiveBytesUsed)
	}
	if image := before.TotalBytesUsed - before.ExclusiveBytesUsed; after.TotalBytesUsed != after.ExclusiveBytesUsed+image {
		t.Errorf("total %d, want exclusive %d + image %d", after.TotalBytesUsed, after.ExclusiveBytesUsed, image)
	}
	out, err := exec.Command("btrfs", "qgroup", "show", "--raw", "-f", s.path("volumes", "fresh")).Output()
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	f := strings.Fields(lines[len(lines)-1])
	if len(f) < 2 || f[1] != strconv.FormatUint(after.ExclusiveBytesUsed, 10) {
		t.Errorf("btrfs qgroup show says %q, Stats %d", lines[len(lines)-1], after.ExclusiveBytesUsed)
	}
}
