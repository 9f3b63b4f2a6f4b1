package rootfs

import (
	"fmt"
	"net/url"
	"path/filepath"
	"strings"

	"github.com/gdn-dev/gdn/pkg/errkind"
)

// SourceKind says where an image comes from.
type SourceKind string

// The kinds of image source gdn-rootfs takes.
const (
	// Registry is a docker:// image in a registry.
	Registry SourceKind = "docker"
	// OCILayout is an oci:// image layout directory.
	OCILayout SourceKind = "oci"
	// DockerArchive is a docker-archive:// tarball (docker save).
	DockerArchive SourceKind = "docker-archive"
	// Dir is a preloaded rootfs directory, used as a read-only layer.
	Dir SourceKind = "dir"
	// Tarball is a rootfs as a .tar or .tar.gz file: one layer.
	Tarball SourceKind = "tarball"
)

// Source is a parsed image URI.
type Source struct {
	Kind SourceKind
	// Path is the local file or directory (Dir, Tarball, OCILayout,
	// DockerArchive).
	Path string
	// Ref is the image reference in go.podman.io/image's transport
	// syntax, e.g. "docker://127.0.0.1:5000/busybox:latest" (Registry,
	// OCILayout, DockerArchive).
	Ref string
}

// ParseURI parses an image URI of the image plugin contract:
//
//	docker://[HOST[:PORT]]/REPO[:TAG|@DIGEST]   (docker:///REPO#TAG: Garden's form, # for :)
//	oci:///PATH[:REF]
//	docker-archive:///PATH.tar
//	/PATH            a directory (preloaded rootfs) or a .tar/.tar.gz file
//
// Anything else is errkind.InvalidSpec. ParseURI does no I/O: whether a
// path is a directory or a file is decided by its name (".tar", ".tgz",
// ".tar.gz" are tarballs).
func ParseURI(uri string) (Source, error) {
	bad := func(why string) (Source, error) {
		return Source{}, fmt.Errorf("image URI %q: %s: %w", uri, why, errkind.InvalidSpec)
	}
	if strings.HasPrefix(uri, "/") {
		clean := filepath.Clean(uri)
		for _, ext := range []string{".tar", ".tgz", ".tar.gz"} {
			if strings.HasSuffix(clean, ext) {
				return Source{Kind: Tarball, Path: clean}, nil
			}
		}
		return Source{Kind: Dir, Path: clean}, nil
	}
	scheme, rest, ok := strings.Cut(uri, "://")
	if !ok {
		return bad("want docker://, oci://, docker-archive:// or an absolute path")
	}
	switch scheme {
	case "docker":
		return parseDocker(uri, rest)
	case "oci", "docker-archive":
		path := rest
		ref := ""
		if i := strings.LastIndex(rest, ":"); i > 0 && scheme == "oci" {
			path, ref = rest[:i], rest[i+1:]
		}
		if !strings.HasPrefix(path, "/") {
			return bad("the path must be absolute (" + scheme + ":///path)")
		}
		s := Source{Kind: SourceKind(scheme), Path: filepath.Clean(path), Ref: scheme + ":" + filepath.Clean(path)}
		if ref != "" {
			s.Ref += ":" + ref
		}
		return s, nil
	}
	return bad("unknown scheme " + scheme)
}

// parseDocker turns docker://HOST/REPO:TAG and docker:///REPO#TAG into
// the registry transport's "docker://HOST/REPO:TAG".
func parseDocker(uri, rest string) (Source, error) {
	u, err := url.Parse(uri)
	if err != nil {
		return Source{}, fmt.Errorf("image URI %q: %w: %w", uri, err, errkind.InvalidSpec)
	}
	repo := strings.TrimPrefix(u.Path, "/")
	if repo == "" {
		return Source{}, fmt.Errorf("image URI %q: no repository: %w", uri, errkind.InvalidSpec)
	}
	name := repo
	if u.Host != "" {
		name = u.Host + "/" + repo
	}
	if u.Fragment != "" {
		if strings.ContainsAny(repo, ":@") {
			return Source{}, fmt.Errorf("image URI %q: a tag both in the path and after #: %w", uri, errkind.InvalidSpec)
		}
		name += ":" + u.Fragment
	}
	_ = rest
	return Source{Kind: Registry, Ref: "docker://" + name}, nil
}

// URI is an image URI that ParseURI turns back into s.
func (s Source) URI() string {
	switch s.Kind {
	case Registry:
		// docker:/// (no host in the URI) keeps the reference whole, a
		// registry host in it included.
		return "docker:///" + strings.TrimPrefix(s.Ref, "docker://")
	case OCILayout:
		return "oci://" + strings.TrimPrefix(s.Ref, "oci:")
	case DockerArchive:
		return "docker-archive://" + s.Path
	}
	return s.Path
}
