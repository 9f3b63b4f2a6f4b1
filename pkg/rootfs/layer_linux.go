package rootfs

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"

	"github.com/gdn-dev/gdn/pkg/errkind"
	"github.com/gdn-dev/gdn/pkg/idmap"
	"github.com/gdn-dev/gdn/pkg/tarpath"
	"golang.org/x/sys/unix"
)

// Names that mark deletions in image layers (the OCI image spec's
// whiteouts), turned into overlayfs's own form at unpack.
const (
	whiteoutPrefix = ".wh."
	opaqueWhiteout = ".wh..wh..opq"
)

// layerPath cleans a layer entry's path (see tarpath.Clean).
func layerPath(name string) (string, bool) { return tarpath.Clean(name) }

// unpacker writes one layer's tar stream into a directory. Every path goes
// through os.Root, which refuses any that would leave the directory (by
// "..", an absolute or escaping symlink, or a hard link); ids are shifted
// to the store's mapping.
type unpacker struct {
	root           *os.Root
	uidMap, gidMap []idmap.Mapping
}

func (u *unpacker) unpack(r io.Reader) error {
	if err := tarpath.Each(r, u.entry); err != nil {
		return fmt.Errorf("layer: %w", err)
	}
	return nil
}

func (u *unpacker) entry(name string, hdr *tar.Header, r io.Reader) error {
	dir, base := path.Dir(name), path.Base(name)
	if dir != "." {
		if err := u.root.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	switch {
	case base == opaqueWhiteout:
		return u.opaque(dir)
	case strings.HasPrefix(base, whiteoutPrefix):
		return u.whiteout(path.Join(dir, strings.TrimPrefix(base, whiteoutPrefix)))
	}
	if err := u.clear(name, hdr.Typeflag == tar.TypeDir); err != nil {
		return err
	}
	// FileInfo turns the tar's Unix mode bits into Go's, setuid included.
	mode := hdr.FileInfo().Mode() & (fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky)
	switch hdr.Typeflag {
	case tar.TypeDir:
		if err := u.root.Mkdir(name, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
			return err
		}
	case tar.TypeReg:
		if err := tarpath.WriteFile(u.root, name, 0o600, r); err != nil {
			return err
		}
	case tar.TypeSymlink:
		if err := u.root.Symlink(hdr.Linkname, name); err != nil {
			return err
		}
		return u.chown(name, hdr)
	case tar.TypeLink:
		target, ok := layerPath(hdr.Linkname)
		if !ok {
			return fmt.Errorf("hard link to %q leaves the layer: %w", hdr.Linkname, errkind.InvalidSpec)
		}
		return u.root.Link(target, name)
	case tar.TypeFifo:
		if err := u.mknodIn(name, unix.S_IFIFO|0o600, 0); err != nil {
			return err
		}
	default:
		return nil // devices: an image has no business shipping them
	}
	if err := u.chown(name, hdr); err != nil {
		return err
	}
	// After chown, which clears setuid and setgid.
	if err := u.root.Chmod(name, mode); err != nil {
		return err
	}
	return u.root.Chtimes(name, hdr.ModTime, hdr.ModTime)
}

// clear removes what is in the way of a new entry (a later layer in the
// same tar replaces an earlier entry); a directory stays for a directory.
func (u *unpacker) clear(name string, isDir bool) error {
	st, err := u.root.Lstat(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if st.IsDir() && isDir {
		return nil
	}
	return u.root.RemoveAll(name)
}

// chown gives an entry the host ids its container ids map to.
func (u *unpacker) chown(name string, hdr *tar.Header) error {
	uid, ok := idmap.ToHost(u.uidMap, uint32(hdr.Uid))
	if !ok {
		return fmt.Errorf("uid %d is outside the store's mapping: %w", hdr.Uid, errkind.InvalidSpec)
	}
	gid, ok := idmap.ToHost(u.gidMap, uint32(hdr.Gid))
	if !ok {
		return fmt.Errorf("gid %d is outside the store's mapping: %w", hdr.Gid, errkind.InvalidSpec)
	}
	return u.root.Lchown(name, int(uid), int(gid))
}

// whiteout marks name deleted for overlayfs: a 0:0 character device.
func (u *unpacker) whiteout(name string) error {
	if err := u.clear(name, false); err != nil {
		return err
	}
	return u.mknodIn(name, unix.S_IFCHR|0o600, 0)
}

// opaque marks dir as hiding everything below it in lower layers.
func (u *unpacker) opaque(dir string) error {
	if err := u.root.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := u.root.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	return unix.Fsetxattr(int(f.Fd()), "trusted.overlay.opaque", []byte("y"), 0)
}

// mknodIn makes a node in its parent, opened through the root so the
// parent cannot be a symlink out of it.
func (u *unpacker) mknodIn(name string, mode uint32, dev int) error {
	parent, err := u.root.Open(path.Dir(name))
	if err != nil {
		return err
	}
	defer parent.Close()
	return unix.Mknodat(int(parent.Fd()), path.Base(name), mode, dev)
}
