// Package fetch brings images that are not directories into a gdn-rootfs
// store: a registry's (docker://), an OCI layout's, a docker archive's,
// with go.podman.io/image, and rootfs tarballs. It is apart from package
// rootfs, and runs in its own program (gdn-rootfs-fetch), because
// go.podman.io/image's package initialisation costs more CPU than the
// rest of a gdn-rootfs run, and most runs fetch nothing.
package fetch

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	goruntime "runtime"
	"strings"

	"github.com/opencontainers/go-digest"
	"go.podman.io/image/v5/docker"
	"go.podman.io/image/v5/docker/archive"
	"go.podman.io/image/v5/image"
	"go.podman.io/image/v5/manifest"
	"go.podman.io/image/v5/oci/layout"
	"go.podman.io/image/v5/pkg/blobinfocache/none"
	"go.podman.io/image/v5/pkg/compression"
	"go.podman.io/image/v5/types"

	"github.com/gdn-dev/gdn/pkg/errkind"
	"github.com/gdn-dev/gdn/pkg/rootfs"
)

// Fetcher is the rootfs.Fetcher that fetches into s in this process.
func Fetcher(s *rootfs.Store) rootfs.Fetcher {
	return func(ctx context.Context, src rootfs.Source, opts rootfs.PullOptions) (*rootfs.ImageRecord, error) {
		return Fetch(ctx, s, src, opts)
	}
}

// Fetch makes sure every layer of src is unpacked in s and returns the
// image's record. A layer already there is not fetched again; two fetches
// of the same new layer fetch it once.
func Fetch(ctx context.Context, s *rootfs.Store, src rootfs.Source, opts rootfs.PullOptions) (*rootfs.ImageRecord, error) {
	if src.Kind == rootfs.Tarball {
		return tarball(s, src.Path)
	}
	return pull(ctx, s, src, opts)
}

// reference turns a Source into a go.podman.io/image reference.
func reference(src rootfs.Source) (types.ImageReference, error) {
	switch src.Kind {
	case rootfs.Registry:
		return docker.ParseReference(strings.TrimPrefix(src.Ref, "docker:"))
	case rootfs.OCILayout:
		return layout.ParseReference(strings.TrimPrefix(src.Ref, "oci:"))
	case rootfs.DockerArchive:
		return archive.ParseReference(src.Path)
	}
	return nil, fmt.Errorf("image kind %q cannot be pulled: %w", src.Kind, errkind.InvalidSpec)
}

func systemContext(o rootfs.PullOptions, src rootfs.Source) *types.SystemContext {
	sys := &types.SystemContext{OSChoice: "linux", ArchitectureChoice: goruntime.GOARCH}
	if o.Username != "" || o.Password != "" {
		sys.DockerAuthConfig = &types.DockerAuthConfig{Username: o.Username, Password: o.Password}
	}
	if src.Kind == rootfs.Registry {
		host, _, _ := strings.Cut(strings.TrimPrefix(src.Ref, "docker://"), "/")
		for _, h := range o.Insecure {
			if h == host {
				sys.DockerInsecureSkipTLSVerify = types.OptionalBoolTrue
			}
		}
	}
	return sys
}

// pull fetches a registry's, an OCI layout's or a docker archive's image.
func pull(ctx context.Context, s *rootfs.Store, src rootfs.Source, opts rootfs.PullOptions) (*rootfs.ImageRecord, error) {
	ref, err := reference(src)
	if err != nil {
		return nil, fmt.Errorf("image %q: %w: %w", src.Ref, err, errkind.InvalidSpec)
	}
	sys := systemContext(opts, src)
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
	if rec, ok := s.Record(mdigest.Encoded()); ok {
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
	rec := &rootfs.ImageRecord{Env: cfg.Config.Env, Volumes: []string{}}
	for v := range cfg.Config.Volumes {
		rec.Volumes = append(rec.Volumes, v)
	}
	for i, info := range infos {
		diffID := cfg.RootFS.DiffIDs[i]
		if err := diffID.Validate(); err != nil {
			return nil, fmt.Errorf("image %q: diff id %q: %w: %w", src.Ref, diffID, err, errkind.InvalidSpec)
		}
		size, err := s.EnsureLayer(diffID.Encoded(), func(dir string) error {
			return unpackBlob(ctx, s, isrc, info, diffID, opts.Progress, dir)
		})
		if err != nil {
			return nil, fmt.Errorf("image %q: layer %s: %w", src.Ref, info.Digest, err)
		}
		rec.Layers = append(rec.Layers, diffID.Encoded())
		rec.Size += size
	}
	if err := s.SaveRecord(mdigest.Encoded(), rec); err != nil {
		return nil, err
	}
	return rec, nil
}

// unpackBlob fetches one layer blob and unpacks it into dir. The blob is
// checked against its digest and the unpacked stream against its diff id.
func unpackBlob(ctx context.Context, s *rootfs.Store, isrc types.ImageSource, info types.BlobInfo, diffID digest.Digest, out io.Writer, dir string) error {
	rc, size, err := isrc.GetBlob(ctx, info, none.NoCache)
	if err != nil {
		return fmt.Errorf("fetch: %w", err)
	}
	defer rc.Close()
	bar := newProgress(out, info.Digest.String(), size)
	defer bar.done()
	blob := bar.reader(rc)
	blobCheck := info.Digest.Verifier()
	plain, _, err := compression.AutoDecompress(io.TeeReader(blob, blobCheck))
	if err != nil {
		return fmt.Errorf("decompress: %w", err)
	}
	defer plain.Close()
	diffCheck := diffID.Verifier()
	if err := s.Unpack(dir, io.TeeReader(plain, diffCheck)); err != nil {
		return err
	}
	// Drain what tar did not read (padding), so the digests see it all.
	_, _ = io.Copy(io.Discard, io.TeeReader(plain, diffCheck))
	_, _ = io.Copy(io.Discard, io.TeeReader(blob, blobCheck))
	if !blobCheck.Verified() || !diffCheck.Verified() {
		return fmt.Errorf("content does not match its digest: %w", errkind.InvalidSpec)
	}
	return nil
}

// tarball unpacks a rootfs tarball (plain or compressed) as one layer,
// keyed by the sha256 of the file, once per store.
func tarball(s *rootfs.Store, path string) (*rootfs.ImageRecord, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("image %q: %w: %w", path, err, errkind.ImageNotFound)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return nil, err
	}
	id := "tar-" + hex.EncodeToString(h.Sum(nil))
	size, err := s.EnsureLayer(id, func(dir string) error {
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return err
		}
		plain, _, err := compression.AutoDecompress(f)
		if err != nil {
			return fmt.Errorf("image %q: %w: %w", path, err, errkind.InvalidSpec)
		}
		defer plain.Close()
		if err := s.Unpack(dir, plain); err != nil {
			return fmt.Errorf("image %q: %w", path, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &rootfs.ImageRecord{Layers: []string{id}, Env: []string{}, Volumes: []string{}, Size: size}, nil
}
