// Package tarpath cleans the paths of tar archive entries, for the two
// places gdn unpacks archives (image layers, stream-in).
package tarpath

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
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
