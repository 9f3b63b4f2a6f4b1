package rootfs

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"slices"

	"github.com/gdn-dev/gdn/pkg/errkind"
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
	if src.Kind == Dir {
		st, err := os.Stat(src.Path)
		if err != nil || !st.IsDir() {
			return nil, fmt.Errorf("image %q is not a directory: %w", src.Path, errkind.ImageNotFound)
		}
		size, err := s.imageSize(src.Path)
		if err != nil {
			return nil, err
		}
		return &resolved{dir: src.Path, lowers: []string{src.Path}, env: []string{}, size: size, rootMode: st.Mode()}, nil
	}
	if s.fetch == nil {
		return nil, fmt.Errorf("image %q: %w", src.Ref+src.Path, errNoFetcher)
	}
	rec, err := s.fetch(ctx, src, opts)
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
		if err := checkLayerID(l); err != nil {
			return nil, err
		}
		r.lowers = append(r.lowers, s.path("layers", l))
	}
	if st, err := os.Stat(s.path("layers", layers[0])); err == nil {
		r.rootMode = st.Mode()
	}
	return r, nil
}
