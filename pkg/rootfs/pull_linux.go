package rootfs

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"os"
	goruntime "runtime"
	"strings"

	"github.com/gdn-dev/gdn/pkg/atomicfile"
	"github.com/gdn-dev/gdn/pkg/errkind"
	"github.com/gdn-dev/gdn/pkg/flock"
	"github.com/opencontainers/go-digest"
	"go.podman.io/image/v5/docker"
	"go.podman.io/image/v5/docker/archive"
	"go.podman.io/image/v5/image"
	"go.podman.io/image/v5/manifest"
	"go.podman.io/image/v5/oci/layout"
	"go.podman.io/image/v5/pkg/blobinfocache/none"
	"go.podman.io/image/v5/pkg/compression"
	"go.podman.io/image/v5/types"
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

// imageRecord is what the store keeps about a pulled image, under
// meta/images/<manifest digest>.json.
type imageRecord struct {
	// Layers are diff ids, base layer first; each is a directory
	// layers/<hex> once unpacked.
	Layers  []string `json:"layers"`
	Env     []string `json:"env"`
	Volumes []string `json:"volumes"`
	Size    uint64   `json:"size"`
}

// reference turns a Source into a go.podman.io/image reference.
func reference(src Source) (types.ImageReference, error) {
	switch src.Kind {
	case Registry:
		return docker.ParseReference(strings.TrimPrefix(src.Ref, "docker:"))
	case OCILayout:
		return layout.ParseReference(strings.TrimPrefix(src.Ref, "oci:"))
	case DockerArchive:
		return archive.ParseReference(src.Path)
	}
	return nil, fmt.Errorf("image kind %q cannot be pulled: %w", src.Kind, errkind.InvalidSpec)
}

func (o PullOptions) systemContext(src Source) *types.SystemContext {
	sys := &types.SystemContext{OSChoice: "linux", ArchitectureChoice: goruntime.GOARCH}
	if o.Username != "" || o.Password != "" {
		sys.DockerAuthConfig = &types.DockerAuthConfig{Username: o.Username, Password: o.Password}
	}
	if src.Kind == Registry {
		host, _, _ := strings.Cut(strings.TrimPrefix(src.Ref, "docker://"), "/")
		for _, h := range o.Insecure {
			if h == host {
				sys.DockerInsecureSkipTLSVerify = types.OptionalBoolTrue
			}
		}
	}
	return sys
}

// pull makes sure every layer of src is unpacked in the store and returns
// the image's record. A layer already there is not fetched again; two
// pulls of the same new layer fetch it once (a lock per layer).
func (s *Store) pull(ctx context.Context, src Source, opts PullOptions) (*imageRecord, error) {
	ref, err := reference(src)
	if err != nil {
		return nil, fmt.Errorf("image %q: %w: %w", src.Ref, err, errkind.InvalidSpec)
	}
	sys := opts.systemContext(src)
	isrc, err := ref.NewImageSource(ctx, sys)
	if err != nil {
		return nil, fmt.Errorf("image %q: %w: %w", src.Ref, err, errkind.ImageNotFound)
	}
	defer isrc.Close()
	img, err := image.FromUnparsedImage(ctx, sys, image.UnparsedInstance(isrc, nil))
	if err != nil {
		return nil, fmt.Errorf("image %q: %w: %w", src.Ref, err, errkind.ImageNotFound)
	}
	raw, _, err := img.Manifest(ctx)
	if err != nil {
		return nil, fmt.Errorf("image %q: manifest: %w", src.Ref, err)
	}
	mdigest, err := manifest.Digest(raw)
	if err != nil {
		return nil, err
	}
	recPath := s.path("meta", "images", mdigest.Encoded()+".json")
	if rec, err := s.readRecord(recPath); err == nil && s.haveLayers(rec) {
		return rec, nil
	}
	cfg, err := img.OCIConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("image %q: config: %w", src.Ref, err)
	}
	infos := img.LayerInfos()
	if len(infos) != len(cfg.RootFS.DiffIDs) {
		return nil, fmt.Errorf("image %q: %d layers but %d diff ids: %w", src.Ref, len(infos), len(cfg.RootFS.DiffIDs), errkind.InvalidSpec)
	}
	rec := &imageRecord{Env: cfg.Config.Env, Volumes: []string{}}
	for v := range cfg.Config.Volumes {
		rec.Volumes = append(rec.Volumes, v)
	}
	for i, info := range infos {
		size, err := s.ensureLayer(ctx, isrc, info, cfg.RootFS.DiffIDs[i], opts.Progress)
		if err != nil {
			return nil, fmt.Errorf("image %q: layer %s: %w", src.Ref, info.Digest, err)
		}
		rec.Layers = append(rec.Layers, cfg.RootFS.DiffIDs[i].Encoded())
		rec.Size += size
	}
	data, _ := json.Marshal(rec)
	if err := atomicfile.WriteFile(recPath, data, 0o644); err != nil {
		return nil, err
	}
	return rec, nil
}

func (s *Store) readRecord(path string) (*imageRecord, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var rec imageRecord
	return &rec, json.Unmarshal(data, &rec)
}

func (s *Store) haveLayers(rec *imageRecord) bool {
	for _, l := range rec.Layers {
		if _, err := os.Stat(s.path("layers", l)); err != nil {
			return false
		}
	}
	return true
}

// ensureLayer unpacks one layer, unless it is there, and returns its size.
// The blob is checked against its digest and the unpacked stream against
// its diff id; it is unpacked in a temporary directory renamed into place
// only when both match, so a half-fetched layer is never used.
func (s *Store) ensureLayer(ctx context.Context, isrc types.ImageSource, info types.BlobInfo, diffID digest.Digest, out io.Writer) (uint64, error) {
	dir := s.path("layers", diffID.Encoded())
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
	rc, size, err := isrc.GetBlob(ctx, info, none.NoCache)
	if err != nil {
		return 0, fmt.Errorf("fetch: %w", err)
	}
	defer rc.Close()
	bar := newProgress(out, info.Digest.String(), size)
	defer bar.done()
	blob := bar.reader(rc)
	blobCheck := info.Digest.Verifier()
	plain, _, err := compression.AutoDecompress(io.TeeReader(blob, blobCheck))
	if err != nil {
		return 0, fmt.Errorf("decompress: %w", err)
	}
	defer plain.Close()
	diffCheck := diffID.Verifier()
	tmp := s.path("layers", ".tmp-"+diffID.Encoded()[:12]+"-"+rand.Text())
	if err := s.unpackInto(tmp, io.TeeReader(plain, diffCheck)); err != nil {
		os.RemoveAll(tmp)
		return 0, err
	}
	// Drain what tar did not read (padding), so the digests see it all.
	_, _ = io.Copy(io.Discard, io.TeeReader(plain, diffCheck))
	_, _ = io.Copy(io.Discard, io.TeeReader(blob, blobCheck))
	if !blobCheck.Verified() || !diffCheck.Verified() {
		os.RemoveAll(tmp)
		return 0, fmt.Errorf("content does not match its digest: %w", errkind.InvalidSpec)
	}
	if err := os.Rename(tmp, dir); err != nil {
		os.RemoveAll(tmp)
		return 0, err
	}
	return diskUsage(dir)
}

// unpackInto unpacks a layer tar stream into a new directory.
func (s *Store) unpackInto(dir string, r io.Reader) error {
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
