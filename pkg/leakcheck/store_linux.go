package leakcheck

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// btrfsSubvolRootIno is the inode number of every btrfs subvolume's root
// directory (BTRFS_FIRST_FREE_OBJECTID): another directory never has it.
const btrfsSubvolRootIno = 256

// subvolDepth is how deep below the store subvolumes are looked for: the
// volumes are at depth 2 (volumes/<handle>), and one more level finds one
// made inside a volume's top directories.
const subvolDepth = 3

// store reports the store's volumes and its other subvolumes.
func (c *check) store() error {
	if c.Store == "" {
		return nil
	}
	vols := filepath.Join(c.Store, "volumes")
	names, err := readDir(vols)
	for _, n := range names {
		if !c.keepVolumes[n] {
			c.add(KindVolume, n, filepath.Join(vols, n))
		}
	}
	var st unix.Statfs_t
	if unix.Statfs(c.Store, &st) != nil || st.Type != unix.BTRFS_SUPER_MAGIC {
		return err
	}
	mounted := map[string]bool{}
	ms, _ := readMountinfo()
	for _, m := range ms {
		mounted[m.point] = true
	}
	werr := filepath.WalkDir(c.Store, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission) {
				return nil
			}
			return err
		}
		if !d.IsDir() {
			return nil
		}
		rel, _ := under(c.Store, p)
		if rel == "" {
			return nil
		}
		parts := strings.Split(rel, "/")
		switch {
		case mounted[p], len(parts) == 1 && (parts[0] == "layers" || parts[0] == "meta"):
			return fs.SkipDir // another file system, or never subvolumes
		case parts[0] == "volumes" && len(parts) >= 2 && c.keepVolumes[parts[1]]:
			return fs.SkipDir
		}
		if info, err := os.Lstat(p); err == nil {
			if s, ok := info.Sys().(*syscall.Stat_t); ok && s.Ino == btrfsSubvolRootIno &&
				!(parts[0] == "volumes" && len(parts) == 2) { // volumes are reported above
				h := ""
				if parts[0] == "volumes" {
					h = parts[1]
				}
				c.add(KindSubvolume, h, p)
			}
		}
		if len(parts) >= subvolDepth {
			return fs.SkipDir
		}
		return nil
	})
	return errors.Join(err, werr)
}
