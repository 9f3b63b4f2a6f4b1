package tag

import (
	"errors"
	"regexp"
	"testing"

	"github.com/gdn-dev/gdn/pkg/errkind"
)

func TestValidate(t *testing.T) {
	for _, ok := range []string{"", "a", "ci", "t1_2", "abcdefghijklmnop"} {
		if err := Validate(ok); err != nil {
			t.Errorf("Validate(%q) = %v, want nil", ok, err)
		}
	}
	for _, bad := range []string{"A", "-a", "a-b", "a/b", "..", "a.b", "_a", "abcdefghijklmnopq", "a b"} {
		if err := Validate(bad); !errors.Is(err, errkind.InvalidSpec) {
			t.Errorf("Validate(%q) = %v, want InvalidSpec", bad, err)
		}
	}
}

func TestScoped(t *testing.T) {
	if got := Scoped("/garden", ""); got != "/garden" {
		t.Errorf("no tag: %q", got)
	}
	if got := Scoped("/garden", "ci"); got != "/garden-ci" {
		t.Errorf("tag ci: %q", got)
	}
}

func TestFromEnv(t *testing.T) {
	t.Setenv(Env, "x1")
	if got, err := FromEnv(); got != "x1" || err != nil {
		t.Errorf("FromEnv = %q, %v", got, err)
	}
	t.Setenv(Env, "X/")
	if _, err := FromEnv(); err == nil {
		t.Error("FromEnv accepted an invalid tag")
	}
}

// FuzzValidate: Validate agrees with Pattern.
func FuzzValidate(f *testing.F) {
	for _, s := range []string{"", "a", "t1_2", "_a", "A", "a-b", "abcdefghijklmnopq", "é"} {
		f.Add(s)
	}
	pattern := regexp.MustCompile(Pattern)
	f.Fuzz(func(t *testing.T, s string) {
		if (Validate(s) == nil) != (s == "" || pattern.MatchString(s)) {
			t.Fatalf("Validate(%q) = %v, but the pattern says %v", s, Validate(s), pattern.MatchString(s))
		}
	})
}
