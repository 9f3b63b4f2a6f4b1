package rootfs

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/gdn-dev/gdn/pkg/flock"

	"github.com/gdn-dev/gdn/pkg/idmap"
	"golang.org/x/sys/unix"
)

// idmappedBind mounts src read-only at dst with the store's ids: a file
// owned by id C on disk appears owned by host id H where the mapping
// takes C to H. A preloaded rootfs owned by host root thus appears owned
// by the unprivileged container's root, without copying or chowning it.
func idmappedBind(src, dst string, uidMap, gidMap []idmap.Mapping) error {
	tree, err := idmap.Tree(src, uidMap, gidMap)
	if err != nil {
		return err
	}
	defer unix.Close(tree)
	if err := unix.MoveMount(tree, "", unix.AT_FDCWD, dst, unix.MOVE_MOUNT_F_EMPTY_PATH); err != nil {
		return fmt.Errorf("mount id-mapped %q at %q: %w", src, dst, err)
	}
	return nil
}

// sharedLower returns the store's id-mapped mount of the preloaded
// directory dir, for volumes whose overlay the runtime mounts: one host
// mount per directory image rather than one per container. It is made
// when missing, and again when dir was replaced since (the mount shows
// another directory than dir now is). An overlay holds its own clone of
// each layer's mount, so replacing or removing the shared one (Clean)
// does not touch a running container.
func (s *Store) sharedLower(dir string) (string, error) {
	p := s.path("lowers", lowerKey(dir))
	var want unix.Stat_t
	if err := unix.Stat(dir, &want); err != nil {
		return "", fmt.Errorf("image %q: %w", dir, err)
	}
	current := func() bool {
		var have unix.Stat_t
		return unix.Stat(p, &have) == nil && have.Dev == want.Dev && have.Ino == want.Ino
	}
	if current() {
		return p, nil
	}
	if err := os.MkdirAll(s.path("lowers"), 0o755); err != nil {
		return "", err
	}
	lock, err := flock.Acquire(p + ".lock")
	if err != nil {
		return "", err
	}
	defer lock.Release()
	if current() {
		return p, nil
	}
	if err := unix.Unmount(p, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
		return "", fmt.Errorf("unmount stale lower %q: %w", p, err)
	}
	if err := os.Mkdir(p, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
		return "", err
	}
	if err := idmappedBind(dir, p, s.meta.UIDMappings, s.meta.GIDMappings); err != nil {
		return "", err
	}
	return p, nil
}

// lowerKey names the shared lower of the preloaded directory dir.
func lowerKey(dir string) string {
	sum := sha256.Sum256([]byte(dir))
	return hex.EncodeToString(sum[:8])
}

// dropUnusedLowers unmounts and removes the shared lowers of directories
// that no volume is made from.
func (s *Store) dropUnusedLowers(usedDirs map[string]bool) {
	keep := map[string]bool{}
	for dir := range usedDirs {
		keep[lowerKey(dir)] = true
	}
	entries, _ := os.ReadDir(s.path("lowers"))
	for _, e := range entries {
		key := strings.TrimSuffix(e.Name(), ".lock")
		if keep[key] {
			continue
		}
		p := s.path("lowers", key)
		lock, err := flock.Acquire(p + ".lock")
		if err != nil {
			continue
		}
		// Clean holds the gc lock, so no create waits on this lock file.
		if unmount(p) == nil {
			_ = os.Remove(p)
			_ = os.Remove(p + ".lock")
		}
		_ = lock.Release()
	}
}
