package handle

import (
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/gdn-dev/gdn/pkg/errkind"
)

// FuzzValidate: Validate agrees with Pattern; a handle it accepts is one safe path component
// (what the depot and the runtime root join onto their directories), at
// most MaxLen bytes, and not a flag; anything refused is InvalidHandle.
func FuzzValidate(f *testing.F) {
	for _, s := range []string{
		"c1", "A-b_c.d+e", strings.Repeat("x", MaxLen), strings.Repeat("x", MaxLen+1),
		"", ".", "..", "...", "-rf", "a/b", "../etc", "a\x00b", "a\n", "a\nb", "é", "a/", "a\\b", "1..",
	} {
		f.Add(s)
	}
	pattern := regexp.MustCompile(Pattern)
	f.Fuzz(func(t *testing.T, s string) {
		err := Validate(s)
		if (err == nil) != pattern.MatchString(s) {
			t.Fatalf("Validate(%q) = %v, but the pattern says %v", s, err, pattern.MatchString(s))
		}
		if err != nil {
			if errkind.Of(err) != errkind.InvalidHandle {
				t.Fatalf("Validate(%q) = %v, want InvalidHandle", s, err)
			}
			return
		}
		switch {
		case s == "" || s == "." || s == "..":
			t.Fatalf("Validate accepted %q", s)
		case len(s) > MaxLen:
			t.Fatalf("Validate accepted %d bytes", len(s))
		case strings.HasPrefix(s, "-"):
			t.Fatalf("Validate accepted the flag-like %q", s)
		case strings.ContainsAny(s, "/\\\x00\n\r\t "):
			t.Fatalf("Validate accepted %q with a separator, NUL or space", s)
		case !filepath.IsLocal(s) || filepath.Base(s) != s || filepath.Clean(s) != s:
			t.Fatalf("Validate accepted %q, which is not one clean local path component", s)
		}
		if joined := filepath.Join("/depot", s); filepath.Dir(joined) != "/depot" {
			t.Fatalf("handle %q joins to %q, outside /depot", s, joined)
		}
		for _, r := range s {
			if r >= 0x80 {
				t.Fatalf("Validate accepted non-ASCII %q", s)
			}
		}
	})
}
