package rootfs

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"

	"github.com/gdn-dev/gdn/pkg/atomicfile"
	"github.com/gdn-dev/gdn/pkg/errkind"
	"github.com/gdn-dev/gdn/pkg/idmap"
	"golang.org/x/sys/unix"
)

// DefaultDir is the store directory when none is given (for the default
// instance; an instance tagged t uses tag.Scoped of it).
const DefaultDir = "/var/lib/gdn/store"

// DefaultSizeBytes is the size of a new loop-backed store: sparse, so it
// costs only what is written.
const DefaultSizeBytes = 20 << 30

// backingSuffix names the btrfs image file beside a loop-backed store.
const backingSuffix = ".backing.img"

// Meta is what a store records about itself.
type Meta struct {
	UIDMappings []idmap.Mapping `json:"uid_mappings"`
	GIDMappings []idmap.Mapping `json:"gid_mappings"`
	// BackingFile is the loop-mounted btrfs image, if the store made one.
	BackingFile string `json:"backing_file,omitempty"`
}

// InitConfig says how to make a store.
type InitConfig struct {
	Dir                      string
	UIDMappings, GIDMappings []idmap.Mapping
	// SizeBytes is the size of a loop-backed store (DefaultSizeBytes if 0).
	SizeBytes uint64
}

// Store is an initialised image store.
type Store struct {
	dir   string
	meta  Meta
	fetch Fetcher // nil: directories only
}

func (s *Store) path(parts ...string) string {
	return filepath.Join(append([]string{s.dir}, parts...)...)
}

// Init prepares a store in cfg.Dir, idempotently: a store already there
// with the same mappings is opened as it is; with other mappings it is
// errkind.InvalidSpec. If the directory is not on btrfs, a sparse btrfs
// image of cfg.SizeBytes is made beside it and loop-mounted on it.
func Init(cfg InitConfig) (*Store, error) {
	if !filepath.IsAbs(cfg.Dir) {
		return nil, fmt.Errorf("store %q: the path must be absolute: %w", cfg.Dir, errkind.InvalidSpec)
	}
	if s, err := Open(cfg.Dir); err == nil {
		if !slices.Equal(s.meta.UIDMappings, cfg.UIDMappings) || !slices.Equal(s.meta.GIDMappings, cfg.GIDMappings) {
			return nil, fmt.Errorf("store %q is already initialised with other id mappings: %w", cfg.Dir, errkind.InvalidSpec)
		}
		return s, nil
	}
	// Before any work: a store is btrfs, made and managed with btrfs-progs.
	for _, tool := range []string{"mkfs.btrfs", "btrfs"} {
		if _, err := exec.LookPath(tool); err != nil {
			return nil, missingTool(tool, err)
		}
	}
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("store %q: %w", cfg.Dir, err)
	}
	meta := Meta{UIDMappings: cfg.UIDMappings, GIDMappings: cfg.GIDMappings}
	if !isBtrfs(cfg.Dir) {
		meta.BackingFile = cfg.Dir + backingSuffix
		size := cfg.SizeBytes
		if size == 0 {
			size = DefaultSizeBytes
		}
		if err := makeBacking(meta.BackingFile, size); err != nil {
			return nil, err
		}
		if err := run("mount", "-o", "loop", meta.BackingFile, cfg.Dir); err != nil {
			return nil, err
		}
	}
	if err := run("btrfs", "quota", "enable", cfg.Dir); err != nil {
		return nil, err
	}
	s := &Store{dir: cfg.Dir, meta: meta}
	for _, d := range []string{"meta/images", "volumes"} {
		if err := os.MkdirAll(s.path(d), 0o755); err != nil {
			return nil, err
		}
	}
	data, _ := json.Marshal(meta)
	if err := atomicfile.WriteFile(s.path("meta", "store.json"), data, 0o644); err != nil {
		return nil, err
	}
	return s, nil
}

// makeBacking creates a sparse btrfs image file, unless one exists.
func makeBacking(file string, size uint64) error {
	if _, err := os.Stat(file); err == nil {
		return nil
	}
	f, err := os.OpenFile(file, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("store backing file: %w", err)
	}
	err = f.Truncate(int64(size))
	f.Close()
	if err == nil {
		err = run("mkfs.btrfs", "-q", file)
	}
	if err != nil {
		os.Remove(file)
		return fmt.Errorf("store backing file %q: %w", file, err)
	}
	return nil
}

// Open opens an initialised store, mounting its backing file again if the
// mount is gone (after a reboot). A directory that is no store is
// errkind.InvalidSpec, with a hint to run init-store.
func Open(dir string) (*Store, error) {
	s := &Store{dir: dir}
	data, err := os.ReadFile(s.path("meta", "store.json"))
	if errors.Is(err, fs.ErrNotExist) && !isBtrfs(dir) {
		if _, berr := os.Stat(dir + backingSuffix); berr == nil {
			if err := run("mount", "-o", "loop", dir+backingSuffix, dir); err != nil {
				return nil, err
			}
			data, err = os.ReadFile(s.path("meta", "store.json"))
		}
	}
	if err != nil {
		return nil, fmt.Errorf("store %q is not initialised (run gdn-rootfs init-store): %w", dir, errkind.InvalidSpec)
	}
	if err := json.Unmarshal(data, &s.meta); err != nil {
		return nil, fmt.Errorf("store %q: bad meta/store.json: %w", dir, err)
	}
	if !isBtrfs(dir) {
		return nil, fmt.Errorf("store %q is not on btrfs any more: %w", dir, errkind.InvalidSpec)
	}
	return s, nil
}

// Capacity returns the store's size in bytes.
func (s *Store) Capacity() (uint64, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(s.dir, &st); err != nil {
		return 0, fmt.Errorf("store %q: %w", s.dir, err)
	}
	return st.Blocks * uint64(st.Bsize), nil
}

// Meta returns what the store records about itself.
func (s *Store) Meta() Meta { return s.meta }
