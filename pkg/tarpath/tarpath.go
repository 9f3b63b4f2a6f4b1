// Package tarpath cleans the paths of tar archive entries, for the two
// places gdn unpacks archives (image layers, stream-in).
package tarpath

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
)

// Clean returns name as a clean path relative to the directory an archive
// is unpacked into ("." for that directory itself; a leading "/" is
// dropped), and false for a path that climbs out of it. It does no I/O:
// symlinks are the unpacker's to refuse (os.Root does).
func Clean(name string) (string, bool) {
	clean := path.Clean(strings.TrimLeft(name, "/"))
	if clean == ".." || strings.HasPrefix(clean, "../") {
		return "", false
	}
	return clean, true
}

// Each reads the tar stream r and calls fn for every entry with its
// cleaned path (the directory itself, ".", is skipped), the header, and a
// reader of the entry's content. A malformed archive, or an entry that
// climbs out, is errkind.InvalidSpec; fn's error stops the walk and comes
// back naming the entry.
func Each(r io.Reader, fn func(name string, hdr *tar.Header, content io.Reader) error) error {
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read archive: %w: %w", err, errkind.InvalidSpec)
		}
		name, ok := Clean(hdr.Name)
		if !ok {
			return fmt.Errorf("entry %q leaves the directory it is unpacked into: %w", hdr.Name, errkind.InvalidSpec)
		}
		if name == "." {
			continue
		}
		if err := fn(name, hdr, tr); err != nil {
			return fmt.Errorf("entry %q: %w", hdr.Name, err)
		}
	}
}

// WriteFile creates name in root (it must not exist: callers remove what
// is in the way, so nothing is written through a symlink) with mode and
// the content of r. An archive cut inside the file is errkind.InvalidSpec;
// on any error the partial file is removed.
func WriteFile(root *os.Root, name string, mode fs.FileMode, r io.Reader) error {
	f, err := root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	_, err = io.Copy(f, r)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		return nil
	}
	_ = root.Remove(name)
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("archive ends inside the file: %w: %w", err, errkind.InvalidSpec)
	}
	return err
}
