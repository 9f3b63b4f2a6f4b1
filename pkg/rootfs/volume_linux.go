package rootfs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/gdn-dev/gdn/pkg/atomicfile"
	"github.com/gdn-dev/gdn/pkg/crash"
	"github.com/gdn-dev/gdn/pkg/errkind"
	"github.com/gdn-dev/gdn/pkg/flock"
	"github.com/gdn-dev/gdn/pkg/handle"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// CreateRequest asks for a container's root file system.
type CreateRequest struct {
	Handle string
	Source Source
	// DiskLimit is the quota in bytes; 0 means none.
	DiskLimit uint64
	// ExcludeImage counts only what the container writes against
	// DiskLimit; otherwise the image's size counts too.
	ExcludeImage bool
	// Pull are the registry options for registry images.
	Pull PullOptions
	// WithoutMount leaves the overlay unmounted and returns it as the
	// spec's first mount, on "/", for the runtime to mount in the
	// container's own mount namespace (grootfs's --without-mount).
	WithoutMount bool
}

// Spec is the partial OCI runtime spec of the image plugin contract:
// the rootfs path, the image's environment and its mounts.
type Spec struct {
	Root    Root          `json:"root"`
	Process Process       `json:"process"`
	Mounts  []specs.Mount `json:"mounts"`
}

// Root is the rootfs part of Spec.
type Root struct {
	Path string `json:"path"`
}

// Process is the process part of Spec.
type Process struct {
	Env []string `json:"env"`
}

// volumeMeta is volume.json: what Stats and Delete need to know.
type volumeMeta struct {
	Source Source `json:"source"`
	// Layers are the store layers the volume uses; clean keeps them.
	Layers    []string `json:"layers,omitempty"`
	ImageSize uint64   `json:"image_size"`
	DiskLimit uint64   `json:"disk_limit"`
	Exclude   bool     `json:"exclude_image_from_quota"`
}

// CrashPoints are gdn-rootfs's crash.Point steps, in order, for crash
// tests to iterate ("idmapped" only for a store with id mappings and a
// directory image).
var CrashPoints = []string{
	"gdn-rootfs.create.volume", "gdn-rootfs.create.idmapped", "gdn-rootfs.create.mounted",
	"gdn-rootfs.create.meta", "gdn-rootfs.delete.unmounted",
}

// HostMountCrashPoints are the CrashPoints that only a create mounting on
// the host reaches (not --without-mount).
var HostMountCrashPoints = []string{"gdn-rootfs.create.idmapped", "gdn-rootfs.create.mounted"}

// Create makes handle's root file system from req.Source and returns the
// spec to give gdn-depot. Errors: errkind.InvalidHandle,
// errkind.HandleInUse, errkind.InvalidSpec (missing image, a disk limit
// below the image's size), errkind.ImageNotFound. A failed Create leaves
// nothing: Delete's work is done on the way out.
func (s *Store) Create(ctx context.Context, req CreateRequest) (_ *Spec, err error) {
	if err := handle.Validate(req.Handle); err != nil {
		return nil, err
	}
	// Shared with other creates, exclusive with clean: no layer is
	// removed between being resolved and being recorded as in use.
	gc, err := flock.AcquireShared(s.path("meta", "gc.lock"))
	if err != nil {
		return nil, err
	}
	defer gc.Release()
	img, err := s.resolve(ctx, req.Source, req.Pull)
	if err != nil {
		return nil, err
	}
	vol := s.path("volumes", req.Handle)
	if _, err := os.Lstat(vol); err == nil {
		return nil, fmt.Errorf("volume %q already exists: %w", req.Handle, errkind.HandleInUse)
	}
	if err := createSubvolume(vol); err != nil {
		if errors.Is(err, unix.EEXIST) {
			return nil, fmt.Errorf("volume %q already exists: %w", req.Handle, errkind.HandleInUse)
		}
		return nil, err
	}
	defer func() {
		if err != nil {
			_, _ = s.Delete(req.Handle)
		}
	}()
	crash.Point("gdn-rootfs.create.volume")
	meta := volumeMeta{Source: req.Source, Layers: img.layers, DiskLimit: req.DiskLimit, Exclude: req.ExcludeImage, ImageSize: img.size}
	if req.DiskLimit > 0 {
		if err := applyQuota(vol, &meta); err != nil {
			return nil, err
		}
	}
	lowers := img.lowers
	if req.WithoutMount {
		return s.unmountedOverlay(vol, img, meta)
	}
	if img.dir != "" && len(s.meta.UIDMappings) > 0 {
		lower := filepath.Join(vol, "lower")
		if err := os.Mkdir(lower, 0o755); err != nil {
			return nil, err
		}
		if err := idmappedBind(img.dir, lower, s.meta.UIDMappings, s.meta.GIDMappings); err != nil {
			return nil, err
		}
		crash.Point("gdn-rootfs.create.idmapped")
		lowers = []string{lower}
	}
	opts, rootfs, err := s.overlayDirs(vol, lowers, img.rootMode)
	if err != nil {
		return nil, err
	}
	if err := unix.Mount("overlay", rootfs, "overlay", 0, strings.Join(opts, ",")); err != nil {
		return nil, fmt.Errorf("mount overlay for %q: %w", req.Handle, err)
	}
	crash.Point("gdn-rootfs.create.mounted")
	if len(lowers) == 1 && lowers[0] == filepath.Join(vol, "lower") {
		// overlayfs holds private clones of its layers' mounts (id
		// mapping included), so the id-mapped bind can go: one host
		// mount per container rather than two, and every new mount
		// namespace (each container create) copies the host's table.
		if err := unmount(lowers[0]); err != nil {
			return nil, err
		}
	}
	return s.finishVolume(vol, img, meta, rootfs, nil)
}

// unmountedOverlay finishes a volume whose overlay the runtime mounts: the
// spec's first mount. A preloaded directory in a store with id mappings
// is a lower layer through the store's shared id-mapped mount of it.
func (s *Store) unmountedOverlay(vol string, img *resolved, meta volumeMeta) (*Spec, error) {
	lowers := img.lowers
	if img.dir != "" && len(s.meta.UIDMappings) > 0 {
		lower, err := s.sharedLower(img.dir)
		if err != nil {
			return nil, err
		}
		lowers = []string{lower}
	}
	opts, rootfs, err := s.overlayDirs(vol, lowers, img.rootMode)
	if err != nil {
		return nil, err
	}
	root := specs.Mount{Destination: "/", Type: "overlay", Source: "overlay", Options: opts}
	return s.finishVolume(vol, img, meta, rootfs, &root)
}

// finishVolume makes the image's VOLUMEs and records the volume: the
// last steps of both kinds of create.
func (s *Store) finishVolume(vol string, img *resolved, meta volumeMeta, rootfs string, root *specs.Mount) (*Spec, error) {
	mounts, err := s.volumeMounts(vol, img.volumes)
	if err != nil {
		return nil, err
	}
	if root != nil {
		mounts = append([]specs.Mount{*root}, mounts...)
	}
	// Written without fsync: on btrfs each fsync commits a transaction,
	// 2-3 ms of every create, serialised across creates. A kill -9 of any
	// process keeps it (page cache). A crash of the host loses the
	// container the volume is for, and every path takes a volume without
	// its record: delete needs none, clean counts it as garbage, and the
	// server's start removes volumes no bundle names.
	data, _ := json.Marshal(meta)
	if err := atomicfile.Replace(filepath.Join(vol, "volume.json"), data, 0o600); err != nil {
		return nil, err
	}
	crash.Point("gdn-rootfs.create.meta")
	return &Spec{Root: Root{Path: rootfs}, Process: Process{Env: img.env}, Mounts: mounts}, nil
}

// applyQuota limits the volume's subvolume: the whole limit when the
// image is excluded, else what the image leaves of it.
func applyQuota(vol string, meta *volumeMeta) error {
	limit := meta.DiskLimit
	if !meta.Exclude {
		if meta.ImageSize >= limit {
			return fmt.Errorf("disk limit %d bytes is smaller than the image (%d bytes): %w", limit, meta.ImageSize, errkind.InvalidSpec)
		}
		limit -= meta.ImageSize
	}
	return limitSubvolume(vol, limit)
}

// overlayDirs makes the directories of the container's overlay and
// returns its options and mount point: lowers read-only (top first),
// upper and work in the volume. The upper layer's root takes the image
// root's mode and belongs to the container's root, so that "/" is the
// container's.
func (s *Store) overlayDirs(vol string, lowers []string, rootMode fs.FileMode) ([]string, string, error) {
	upper, work, rootfs := filepath.Join(vol, "upper"), filepath.Join(vol, "work"), filepath.Join(vol, "rootfs")
	for _, d := range []string{upper, work, rootfs} {
		if err := os.Mkdir(d, 0o755); err != nil {
			return nil, "", err
		}
	}
	rootUID, rootGID := s.hostRoot()
	if err := os.Chown(upper, rootUID, rootGID); err != nil {
		return nil, "", err
	}
	if err := os.Chmod(upper, rootMode.Perm()); err != nil {
		return nil, "", err
	}
	opts := []string{"lowerdir=" + strings.Join(lowers, ":"), "upperdir=" + upper, "workdir=" + work}
	return opts, rootfs, nil
}

// volumeMounts makes a directory in the volume for each of the image's
// VOLUMEs and returns the bind mounts that put them in place.
func (s *Store) volumeMounts(vol string, dests []string) ([]specs.Mount, error) {
	mounts := []specs.Mount{}
	uid, gid := s.hostRoot()
	for i, dest := range dests {
		src := filepath.Join(vol, "vols", strconv.Itoa(i))
		if err := os.MkdirAll(src, 0o755); err != nil {
			return nil, err
		}
		if err := os.Chown(src, uid, gid); err != nil {
			return nil, err
		}
		mounts = append(mounts, specs.Mount{Destination: dest, Type: "bind", Source: src, Options: []string{"bind"}})
	}
	return mounts, nil
}

// hostRoot is the host uid and gid of the container's root in this store.
func (s *Store) hostRoot() (int, int) {
	uid, gid := 0, 0
	for _, m := range s.meta.UIDMappings {
		if m.ContainerID == 0 {
			uid = int(m.HostID)
		}
	}
	for _, m := range s.meta.GIDMappings {
		if m.ContainerID == 0 {
			gid = int(m.HostID)
		}
	}
	return uid, gid
}

// Delete unmounts and removes handle's volume. It is idempotent: existed
// is false, and err nil, when there was none.
func (s *Store) Delete(h string) (existed bool, err error) {
	if err := handle.Validate(h); err != nil {
		return false, err
	}
	vol := s.path("volumes", h)
	if _, err := os.Lstat(vol); errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	for _, m := range []string{"rootfs", "lower"} {
		if err := unmount(filepath.Join(vol, m)); err != nil {
			return true, fmt.Errorf("delete volume %q: %w", h, err)
		}
	}
	crash.Point("gdn-rootfs.delete.unmounted")
	if err := deleteSubvolume(vol); err != nil {
		return true, fmt.Errorf("delete volume %q: %w", h, err)
	}
	return true, nil
}

// unmount unmounts path if something is mounted there.
func unmount(path string) error {
	for {
		err := unix.Unmount(path, 0)
		switch {
		case err == nil:
			continue // stacked mounts: take them all
		case errors.Is(err, unix.EINVAL), errors.Is(err, unix.ENOENT):
			return nil // not a mount point (any more)
		default:
			return fmt.Errorf("unmount %q: %w", path, err)
		}
	}
}

// DiskUsage is the stats of the image plugin contract.
type DiskUsage struct {
	TotalBytesUsed     uint64 `json:"total_bytes_used"`
	ExclusiveBytesUsed uint64 `json:"exclusive_bytes_used"`
}

// Stats returns handle's disk usage: exclusive is what the container
// wrote, total adds the image. It is current: the store's file system is
// synced first (cheap when nothing is dirty; it writes what is, which the
// kernel would write within 30 s anyway). Errors: errkind.ContainerNotFound.
func (s *Store) Stats(h string) (DiskUsage, error) {
	if err := handle.Validate(h); err != nil {
		return DiskUsage{}, err
	}
	vol := s.path("volumes", h)
	data, err := os.ReadFile(filepath.Join(vol, "volume.json"))
	if err != nil {
		return DiskUsage{}, fmt.Errorf("volume %q: %w", h, errkind.ContainerNotFound)
	}
	var meta volumeMeta
	if err := json.Unmarshal(data, &meta); err != nil {
		return DiskUsage{}, fmt.Errorf("volume %q: bad volume.json: %w", h, err)
	}
	if err := syncFS(vol); err != nil {
		return DiskUsage{}, err
	}
	excl, err := subvolumeUsage(vol)
	if err != nil {
		return DiskUsage{}, err
	}
	return DiskUsage{TotalBytesUsed: excl + meta.ImageSize, ExclusiveBytesUsed: excl}, nil
}

// List returns the handles of the store's volumes.
func (s *Store) List() ([]string, error) {
	entries, err := os.ReadDir(s.path("volumes"))
	if err != nil {
		return nil, err
	}
	hs := []string{}
	for _, e := range entries {
		if e.IsDir() && handle.Validate(e.Name()) == nil {
			hs = append(hs, e.Name())
		}
	}
	return hs, nil
}
