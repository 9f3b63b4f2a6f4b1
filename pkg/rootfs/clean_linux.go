package rootfs

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/gdn-dev/gdn/pkg/flock"
)

// CleanResult says what Clean removed and kept.
type CleanResult struct {
	Removed    []string `json:"removed_layers"`
	FreedBytes uint64   `json:"freed_bytes"`
	// LayerBytes is what the layers left take.
	LayerBytes uint64 `json:"layer_bytes"`
}

// Clean removes layers no volume uses, oldest first, until the layers
// left take at most threshold bytes (all unused ones when threshold is 0),
// together with leftovers of interrupted pulls (temporary directories, lock
// files of absent layers), image records whose layers are gone, and the
// shared id-mapped mounts of directories no volume is made from. It
// holds the store's gc lock exclusively, so a concurrent create either
// records its layers first or finds them removed and fetches them again.
func (s *Store) Clean(_ context.Context, threshold uint64) (*CleanResult, error) {
	gc, err := flock.Acquire(s.path("meta", "gc.lock"))
	if err != nil {
		return nil, err
	}
	defer gc.Release()
	used, dirs, err := s.used()
	if err != nil {
		return nil, err
	}
	type layer struct {
		id   string
		size uint64
		mod  time.Time
	}
	var unused []layer
	res := &CleanResult{Removed: []string{}}
	entries, _ := os.ReadDir(s.path("layers"))
	for _, e := range entries {
		name := e.Name()
		switch {
		case strings.HasPrefix(name, ".tmp-") || strings.HasSuffix(name, ".tmp"):
			_ = os.RemoveAll(s.path("layers", name))
		case strings.HasSuffix(name, ".lock"):
			if _, err := os.Stat(s.path("layers", strings.TrimSuffix(name, ".lock"))); err != nil {
				_ = os.Remove(s.path("layers", name))
			}
		case e.IsDir():
			size, _ := diskUsage(s.path("layers", name))
			res.LayerBytes += size
			if !used[name] {
				info, _ := e.Info()
				unused = append(unused, layer{name, size, info.ModTime()})
			}
		}
	}
	slices.SortFunc(unused, func(a, b layer) int { return a.mod.Compare(b.mod) })
	for _, l := range unused {
		if threshold > 0 && res.LayerBytes <= threshold {
			break
		}
		if err := os.RemoveAll(s.path("layers", l.id)); err != nil {
			return res, err
		}
		_ = os.Remove(s.path("layers", l.id+".lock"))
		res.Removed = append(res.Removed, l.id)
		res.FreedBytes += l.size
		res.LayerBytes -= l.size
	}
	s.dropStaleRecords()
	s.dropUnusedLowers(dirs)
	return res, nil
}

// used returns the layers that some volume uses and the preloaded
// directories that some volume is made from.
func (s *Store) used() (layers, dirs map[string]bool, err error) {
	layers, dirs = map[string]bool{}, map[string]bool{}
	hs, err := s.List()
	if err != nil {
		return nil, nil, err
	}
	for _, h := range hs {
		data, err := os.ReadFile(s.path("volumes", h, "volume.json"))
		if err != nil {
			continue // only a create killed midway leaves no volume.json: its volume is garbage
		}
		var meta volumeMeta
		if json.Unmarshal(data, &meta) == nil {
			for _, l := range meta.Layers {
				layers[l] = true
			}
			if meta.Source.Kind == Dir {
				dirs[meta.Source.Path] = true
			}
		}
	}
	return layers, dirs, nil
}

// dropStaleRecords removes image records that name a missing layer.
func (s *Store) dropStaleRecords() {
	files, _ := filepath.Glob(s.path("meta", "images", "*.json"))
	for _, f := range files {
		if strings.HasPrefix(filepath.Base(f), "dir-") {
			continue
		}
		if rec, err := s.readRecord(f); err == nil && !s.haveLayers(rec) {
			_ = os.Remove(f)
		}
	}
}

// Pull fetches and unpacks src into the store without making a volume,
// and returns its record.
func (s *Store) Pull(ctx context.Context, src Source, opts PullOptions) (*ImageInfo, error) {
	gc, err := flock.AcquireShared(s.path("meta", "gc.lock"))
	if err != nil {
		return nil, err
	}
	defer gc.Release()
	img, err := s.resolve(ctx, src, opts)
	if err != nil {
		return nil, err
	}
	return &ImageInfo{Layers: img.layers, Env: img.env, Volumes: img.volumes, SizeBytes: img.size}, nil
}

// ImageInfo describes an image in the store.
type ImageInfo struct {
	Layers    []string `json:"layers"`
	Env       []string `json:"env"`
	Volumes   []string `json:"volumes"`
	SizeBytes uint64   `json:"size_bytes"`
}

// Images returns the images the store holds records of, keyed by manifest
// digest (registry, OCI and archive images).
func (s *Store) Images() (map[string]ImageInfo, error) {
	files, err := filepath.Glob(s.path("meta", "images", "*.json"))
	if err != nil {
		return nil, err
	}
	out := map[string]ImageInfo{}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".json")
		if strings.HasPrefix(name, "dir-") {
			continue
		}
		if rec, err := s.readRecord(f); err == nil {
			out["sha256:"+name] = ImageInfo{Layers: rec.Layers, Env: rec.Env, Volumes: rec.Volumes, SizeBytes: rec.Size}
		}
	}
	return out, nil
}
