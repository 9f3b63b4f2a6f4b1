package rootfs

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gdn-dev/gdn/pkg/idmap"
	"github.com/gdn-dev/gdn/pkg/testutil"
)

// Without btrfs-progs, init-store names the package to install and makes
// nothing: no store directory, no backing file.
func TestInitWithoutBtrfsProgsNamesThePackage(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	dir := filepath.Join(t.TempDir(), "store")
	_, err := Init(InitConfig{Dir: dir, SizeBytes: 1 << 20})
	if err == nil || !strings.Contains(err.Error(), "install btrfs-progs") {
		t.Fatalf("got %v, want the package named", err)
	}
	for _, p := range []string{dir, dir + backingSuffix} {
		if _, err := os.Lstat(p); !os.IsNotExist(err) {
			t.Errorf("%s exists after the failed init", p)
		}
	}
}

func TestMissingToolNamesItsPackage(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	if err := run("mkfs.btrfs", "-q", "/nonexistent"); err == nil || err.Error() != "mkfs.btrfs not found in $PATH: install btrfs-progs (apt-get install btrfs-progs)" {
		t.Errorf("got %v", err)
	}
}

// testStore makes a small loop-backed store, its volumes deleted at the end.
func testStore(t *testing.T, maps []idmap.Mapping) *Store {
	t.Helper()
	s, err := Init(InitConfig{Dir: testutil.StoreDir(t), UIDMappings: maps, GIDMappings: maps, SizeBytes: 300 << 20})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if hs, err := s.List(); err == nil {
			for _, h := range hs {
				s.Delete(h)
			}
		}
	})
	return s
}
