package hostcheck

import (
	"os"
	"path/filepath"

	"github.com/gdn-dev/gdn/pkg/idmap"
)

// checkIDMapped id-maps a clone of the mount that holds dir (or its
// nearest existing parent) with gdn-rootfs's own code (idmap.Tree), which serves a
// preloaded rootfs through an id-mapped bind mount. The clone is never
// attached anywhere.
func checkIDMapped(dir string) Result {
	const name = "id-mapped mounts"
	fix := "a kernel of 5.12 or later, with the filesystem of the rootfs supporting id-mapped mounts (ext4, xfs, btrfs; overlayfs and tmpfs from 5.19/6.3)"
	if dir == "" {
		dir = "/"
	}
	for {
		if _, err := os.Stat(dir); err == nil {
			break
		}
		dir = filepath.Dir(dir)
	}
	if err := idmap.Probe(dir); err != nil {
		return missing(name, err.Error(), fix, true)
	}
	return ok(name, "id-mapped a mount of "+dir)
}
