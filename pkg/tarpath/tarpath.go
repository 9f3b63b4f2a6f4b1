// Package tarpath cleans the paths of tar archive entries, for the two
// places gdn unpacks archives (image layers, stream-in).
package tarpath

import (
	"path"
	"strings"
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
