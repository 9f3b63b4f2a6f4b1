package rootfs

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/gdn-dev/gdn/pkg/atomicfile"
)

// imageSizeEntry caches a directory image's size; it is recomputed when
// the directory's modification time changes.
type imageSizeEntry struct {
	Path    string    `json:"path"`
	ModTime time.Time `json:"mod_time"`
	Size    uint64    `json:"size"`
}

// imageSize is the disk space of a directory image (allocated blocks,
// hard links counted once), cached in meta/images.
func (s *Store) imageSize(dir string) (uint64, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return 0, err
	}
	sum := sha256.Sum256([]byte(dir))
	cache := s.path("meta", "images", "dir-"+hex.EncodeToString(sum[:8])+".json")
	var e imageSizeEntry
	if data, err := os.ReadFile(cache); err == nil && json.Unmarshal(data, &e) == nil &&
		e.Path == dir && e.ModTime.Equal(st.ModTime()) {
		return e.Size, nil
	}
	size, err := diskUsage(dir)
	if err != nil {
		return 0, err
	}
	data, _ := json.Marshal(imageSizeEntry{Path: dir, ModTime: st.ModTime(), Size: size})
	_ = atomicfile.WriteFile(cache, data, 0o644)
	return size, nil
}

// diskUsage sums the allocated size of everything under dir, like du.
func diskUsage(dir string) (uint64, error) {
	seen := map[uint64]bool{}
	var total uint64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if st, ok := info.Sys().(*syscall.Stat_t); ok {
			if st.Nlink > 1 && !d.IsDir() {
				if seen[st.Ino] {
					return nil
				}
				seen[st.Ino] = true
			}
			total += uint64(st.Blocks) * 512
		}
		return nil
	})
	return total, err
}
