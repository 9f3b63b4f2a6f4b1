package tarpath

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
	"testing"

	"github.com/gdn-dev/gdn/pkg/errkind"
)

// FuzzClean: an accepted entry name is clean, relative, stays inside the
// directory it is joined to, and cleaning it again changes nothing.
func FuzzClean(f *testing.F) {
	for _, s := range []string{"a/b", "/a/b", "./a/../b", "a/", "", "/", "..", "../a", "a/../../b", "/../x", "..a", "a/..b", "//..//a", "a\x00/../..", "./.", "..."} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		got, ok := Clean(name)
		if !ok {
			return
		}
		if got == "" || strings.HasPrefix(got, "/") || path.Clean(got) != got {
			t.Fatalf("Clean(%q) = %q: not a clean relative path", name, got)
		}
		if got == ".." || strings.HasPrefix(got, "../") {
			t.Fatalf("Clean(%q) = %q climbs out", name, got)
		}
		if j := path.Join("/dest", got); j != "/dest" && !strings.HasPrefix(j, "/dest/") {
			t.Fatalf("Clean(%q) = %q joins to %q, outside /dest", name, got, j)
		}
		if again, ok := Clean(got); !ok || again != got {
			t.Fatalf("Clean(Clean(%q)) = %q, %v; want %q", name, again, ok, got)
		}
	})
}

var errContent = errors.New("content")

// FuzzEach: any byte stream, read as a tar archive, never panics; Each
// either walks it or fails with InvalidSpec (or fn's error), and only
// hands fn names Clean accepted, never the directory itself.
func FuzzEach(f *testing.F) {
	for _, names := range [][]string{{"a", "b/c"}, {"./", "/x"}, {"../x"}, {}} {
		var buf bytes.Buffer
		tw := tar.NewWriter(&buf)
		for _, n := range names {
			tw.WriteHeader(&tar.Header{Name: n, Typeflag: tar.TypeReg, Mode: 0o644, Size: 1, Format: tar.FormatPAX})
			tw.Write([]byte("x"))
		}
		tw.Close()
		f.Add(buf.Bytes())
	}
	f.Add([]byte("not a tar"))
	f.Fuzz(func(t *testing.T, data []byte) {
		err := Each(bytes.NewReader(data), func(name string, hdr *tar.Header, r io.Reader) error {
			if want, ok := Clean(hdr.Name); !ok || want != name || name == "." {
				t.Fatalf("entry %q handed over as %q (Clean: %q, %v)", hdr.Name, name, want, ok)
			}
			if _, err := io.Copy(io.Discard, r); err != nil {
				// A cut archive shows here, in the content (WriteFile
				// makes it InvalidSpec for the unpackers).
				return fmt.Errorf("%w: %w", errContent, err)
			}
			return nil
		})
		if err != nil && errkind.Of(err) != errkind.InvalidSpec && !errors.Is(err, errContent) {
			t.Fatalf("Each = %v, want nil, InvalidSpec or fn's own error", err)
		}
	})
}
