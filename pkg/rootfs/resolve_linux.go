package rootfs

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"

	"github.com/gdn-dev/gdn/pkg/errkind"
	"github.com/gdn-dev/gdn/pkg/flock"
	"go.podman.io/image/v5/pkg/compression"
)

// resolved is an image ready to be a container's lower layers.
type resolved struct {
	// dir is set for a preloaded directory (id-mapped per volume in an
	// unprivileged store); lowers are the overlay's lower dirs, top first.
	dir      string
	layers   []string // layer ids, base first (none for a directory)
	lowers   []string
	env      []string
	volumes  []string
	size     uint64
	rootMode fs.FileMode
}

// resolve fetches and unpacks what src needs, once per store.
func (s *Store) resolve(ctx context.Context, src Source, opts PullOptions) (*resolved, error) {
	switch src.Kind {
	case Dir:
		st, err := os.Stat(src.Path)
		if err != nil || !st.IsDir() {
			return nil, fmt.Errorf("image %q is not a directory: %w", src.Path, errkind.ImageNotFound)
		}
		size, err := s.imageSize(src.Path)
		if err != nil {
			return nil, err
		}
		return &resolved{dir: src.Path, lowers: []string{src.Path}, env: []string{}, size: size, rootMode: st.Mode()}, nil
	case Tarball:
		layer, size, err := s.tarballLayer(src.Path)
		if err != nil {
			return nil, err
		}
		return s.fromLayers([]string{layer}, nil, nil, size)
	}
	rec, err := s.pull(ctx, src, opts)
	if err != nil {
		return nil, err
	}
	return s.fromLayers(rec.Layers, rec.Env, rec.Volumes, rec.Size)
}

// fromLayers stacks unpacked layers (base first) for overlayfs (top first).
func (s *Store) fromLayers(layers, env, volumes []string, size uint64) (*resolved, error) {
	if len(layers) == 0 {
		return nil, fmt.Errorf("image has no layers: %w", errkind.InvalidSpec)
	}
	r := &resolved{layers: layers, env: env, volumes: volumes, size: size, rootMode: 0o755}
	if r.env == nil {
		r.env = []string{}
	}
	for _, l := range slices.Backward(layers) {
		r.lowers = append(r.lowers, s.path("layers", l))
	}
	if st, err := os.Stat(s.path("layers", layers[0])); err == nil {
		r.rootMode = st.Mode()
	}
	return r, nil
}

// tarballLayer unpacks a rootfs tarball (plain or compressed) as one
// layer, keyed by the sha256 of the file, once per store.
func (s *Store) tarballLayer(path string) (string, uint64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, fmt.Errorf("image %q: %w: %w", path, err, errkind.ImageNotFound)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", 0, err
	}
	id := "tar-" + hex.EncodeToString(h.Sum(nil))
	dir := s.path("layers", id)
	if err := os.MkdirAll(s.path("layers"), 0o755); err != nil {
		return "", 0, err
	}
	lock, err := flock.Acquire(dir + ".lock")
	if err != nil {
		return "", 0, err
	}
	defer lock.Release()
	if _, err := os.Stat(dir); err != nil {
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return "", 0, err
		}
		plain, _, err := compression.AutoDecompress(f)
		if err != nil {
			return "", 0, fmt.Errorf("image %q: %w: %w", path, err, errkind.InvalidSpec)
		}
		defer plain.Close()
		tmp := dir + ".tmp"
		os.RemoveAll(tmp)
		if err := s.unpackInto(tmp, plain); err != nil {
			os.RemoveAll(tmp)
			return "", 0, fmt.Errorf("image %q: %w", path, err)
		}
		if err := os.Rename(tmp, dir); err != nil {
			return "", 0, err
		}
	}
	size, err := diskUsage(dir)
	return id, size, err
}
