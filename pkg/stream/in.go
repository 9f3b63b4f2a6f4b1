package stream

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"

	pathrs "github.com/cyphar/filepath-securejoin/pathrs-lite"
	"github.com/gdn-dev/gdn/pkg/errkind"
	"github.com/gdn-dev/gdn/pkg/tarpath"
)

// In unpacks the tar archive r into dest inside t's root, as t's user.
// dest is created (owned by the user) if missing. An entry that would land
// outside dest is errkind.InvalidSpec; a malformed archive too.
func In(t Target, dest string, r io.Reader) error {
	return asUser(t, func() error {
		dir, err := pathrs.MkdirAllHandle(t.Root, dest, 0o755)
		if err != nil {
			return fmt.Errorf("stream in: destination %q: %w: %w", dest, err, errkind.InvalidSpec)
		}
		defer dir.Close()
		root, err := rootAt(dir)
		if err != nil {
			return fmt.Errorf("stream in: destination %q: %w", dest, err)
		}
		defer root.Close()
		return extract(root, r)
	})
}

func extract(root *os.Root, r io.Reader) error {
	err := tarpath.Each(r, func(name string, hdr *tar.Header, content io.Reader) error {
		return extractEntry(root, name, hdr, content)
	})
	if err != nil {
		return fmt.Errorf("stream in: %w", err)
	}
	return nil
}

// entryName cleans an archive path (see tarpath.Clean).
func entryName(name string) (string, bool) { return tarpath.Clean(name) }

func extractEntry(root *os.Root, name string, hdr *tar.Header, r io.Reader) error {
	mode := fs.FileMode(hdr.Mode).Perm()
	if dir := path.Dir(name); dir != "." {
		if err := root.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	switch hdr.Typeflag {
	case tar.TypeDir:
		if err := root.Mkdir(name, mode); err != nil && !errors.Is(err, fs.ErrExist) {
			return err
		}
		return root.Chmod(name, mode)
	case tar.TypeReg:
		// Replace, never write through, whatever is there: it may be
		// a symlink pointing elsewhere in the container.
		if err := removeNonDir(root, name); err != nil {
			return err
		}
		if err := tarpath.WriteFile(root, name, mode, r); err != nil {
			return err
		}
		// The umask cut the mode at creation.
		if err := root.Chmod(name, mode); err != nil {
			return err
		}
		return root.Chtimes(name, hdr.ModTime, hdr.ModTime)
	case tar.TypeSymlink:
		if err := removeNonDir(root, name); err != nil {
			return err
		}
		return root.Symlink(hdr.Linkname, name)
	case tar.TypeLink:
		target, ok := entryName(hdr.Linkname)
		if !ok {
			return fmt.Errorf("hard link to %q leaves the destination: %w", hdr.Linkname, errkind.InvalidSpec)
		}
		if err := removeNonDir(root, name); err != nil {
			return err
		}
		return root.Link(target, name)
	}
	return nil // devices, FIFOs and the like: see the package comment
}

func removeNonDir(root *os.Root, name string) error {
	st, err := root.Lstat(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if st.IsDir() {
		return fmt.Errorf("a directory is in the way")
	}
	return root.Remove(name)
}
