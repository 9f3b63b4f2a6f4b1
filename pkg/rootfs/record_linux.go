package rootfs

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/gdn-dev/gdn/pkg/atomicfile"
	"github.com/gdn-dev/gdn/pkg/errkind"
	"github.com/gdn-dev/gdn/pkg/flock"
)

// PullOptions are a registry's credentials and transport security.
type PullOptions struct {
	Username, Password string
	// Insecure lists registries (HOST[:PORT]) reached over plain HTTP or
	// unverified TLS; no other registry is.
	Insecure []string
	// Progress, if set, gets a progress line per fetched layer (for a
	// terminal).
	Progress io.Writer
}

// ImageRecord is what the store keeps about a fetched image: a pulled one
// under meta/images/<manifest digest>.json.
type ImageRecord struct {
	// Layers are layer ids (a pulled layer's diff id), base layer first;
	// each is a directory layers/<id> once unpacked.
	Layers  []string `json:"layers"`
	Env     []string `json:"env"`
	Volumes []string `json:"volumes"`
	Size    uint64   `json:"size"`
}

// A Fetcher brings an image that is not a directory (a registry's, an OCI
// layout's, a docker archive's, a tarball) into the store's layers, once
// per store, and returns its record. The code that does it
// (go.podman.io/image, package fetch) is not in gdn-rootfs: its package
// initialisation alone would double the CPU of every gdn-rootfs run,
// most of which never fetch. gdn-rootfs runs gdn-rootfs-fetch instead
// (ExecFetcher).
type Fetcher func(ctx context.Context, src Source, opts PullOptions) (*ImageRecord, error)

// SetFetcher sets how s fetches images (see Fetcher); without one, only
// directories are images.
func (s *Store) SetFetcher(f Fetcher) { s.fetch = f }

// Dir is the store's directory.
func (s *Store) Dir() string { return s.dir }

func (s *Store) recordPath(digest string) string {
	return s.path("meta", "images", digest+".json")
}

// Record returns the record of the image whose manifest has digest (its
// hex), if every one of its layers is still there.
func (s *Store) Record(digest string) (*ImageRecord, bool) {
	rec, err := s.readRecord(s.recordPath(digest))
	if err != nil || !s.haveLayers(rec) {
		return nil, false
	}
	return rec, true
}

// SaveRecord keeps rec as the record of the manifest with digest.
func (s *Store) SaveRecord(digest string, rec *ImageRecord) error {
	data, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(s.recordPath(digest), data, 0o644)
}

func (s *Store) readRecord(path string) (*ImageRecord, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var rec ImageRecord
	return &rec, json.Unmarshal(data, &rec)
}

func (s *Store) haveLayers(rec *ImageRecord) bool {
	for _, l := range rec.Layers {
		if _, err := os.Stat(s.path("layers", l)); err != nil {
			return false
		}
	}
	return true
}

// EnsureLayer makes layer id, unless it is there, and returns its size.
// Two processes that want the same new layer make it once (a lock per
// layer). unpack gets the layer's tar stream unpacked into the new
// directory it is given (with Unpack) and returns an error if the stream
// was not what it should be; the directory is renamed into place only
// then, so a half-made layer is never used.
func (s *Store) EnsureLayer(id string, unpack func(dir string) error) (uint64, error) {
	if err := checkLayerID(id); err != nil {
		return 0, err
	}
	dir := s.path("layers", id)
	if err := os.MkdirAll(s.path("layers"), 0o755); err != nil {
		return 0, err
	}
	lock, err := flock.Acquire(dir + ".lock")
	if err != nil {
		return 0, err
	}
	defer lock.Release()
	if _, err := os.Stat(dir); err == nil {
		return diskUsage(dir)
	}
	tmp := s.path("layers", ".tmp-"+id[:min(12, len(id))]+"-"+rand.Text())
	if err := unpack(tmp); err != nil {
		os.RemoveAll(tmp)
		return 0, err
	}
	if err := os.Rename(tmp, dir); err != nil {
		os.RemoveAll(tmp)
		return 0, err
	}
	return diskUsage(dir)
}

// checkLayerID refuses a layer id that is not one name in layers/.
func checkLayerID(id string) error {
	if id == "" || id == "." || id == ".." || strings.ContainsAny(id, "/\x00") {
		return fmt.Errorf("layer id %q: %w", id, errkind.InvalidSpec)
	}
	return nil
}

// Unpack unpacks a layer's tar stream into dir, a new directory, with
// the store's id mapping; no path of the stream leaves dir.
func (s *Store) Unpack(dir string, r io.Reader) error {
	if err := os.Mkdir(dir, 0o755); err != nil {
		return err
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer root.Close()
	u := &unpacker{root: root, uidMap: s.meta.UIDMappings, gidMap: s.meta.GIDMappings}
	return u.unpack(r)
}

// errNoFetcher is a fetch by a store that has no Fetcher.
var errNoFetcher = errors.New("this program cannot fetch images, only use directories")
