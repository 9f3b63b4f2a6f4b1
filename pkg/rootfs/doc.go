// Package rootfs is gdn's image store: container root file systems made
// of shared read-only layers and one writable overlay layer per container,
// with a disk quota the kernel enforces. It implements Guardian's image
// plugin contract (reference guardian-internals §3), so that gdn-rootfs is
// a drop-in for grootfs.
//
// On-disk layout (the store directory is a btrfs file system: quotas are
// btrfs qgroups, because this kernel has no XFS or ext4 project quotas;
// init-store makes a loop-mounted btrfs image file when the directory is
// not on btrfs already):
//
//	$store/meta/store.json           the store's id mappings and backing file
//	$store/meta/images/<key>.json    cached facts about an image (size)
//	$store/volumes/<handle>/         one btrfs subvolume per container,
//	                                 its qgroup limit is the disk quota:
//	    upper/ work/                 the overlay's writable layer
//	    lower/                       an id-mapped mount of a preloaded
//	                                 rootfs (unprivileged stores), only
//	                                 while the overlay is being mounted
//	    rootfs/                      the merged overlay: root.path
//	    volume.json                  what the volume was made from
//	$store/lowers/<key>              the id-mapped mount of a preloaded
//	                                 rootfs shared by the volumes made
//	                                 --without-mount (unprivileged stores)
//
// create --without-mount (grootfs's skip_mount) mounts nothing per
// container: the overlay is the partial spec's first mount, on "/", and
// gdn-run mounts it in the container's own mount namespace, so the host's
// mount table does not grow with containers. root.path is then an empty
// directory on the host; the container's files are in upper/ and its
// layers, or seen from inside (nsenter -t PID -m, gdn-run exec).
//
// Images that are not directories (registries, OCI layouts, docker
// archives, tarballs) come in through a Fetcher: package fetch, which
// gdn-rootfs runs as a program of its own (gdn-rootfs-fetch, ExecFetcher)
// to keep go.podman.io/image out of its own start-up.
//
// A store's id mappings are fixed at init-store: an unprivileged store maps
// container root to host "maximus", so files owned by root in an image
// appear owned by the container's root; a privileged store has none.
package rootfs
