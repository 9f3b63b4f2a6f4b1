package rootfs

import (
	"fmt"

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
