package handle

import (
	"strings"
	"testing"

	"github.com/gdn-dev/gdn/pkg/errkind"
)

func TestValidate(t *testing.T) {
	good := []string{"a", "c1", "A-b_c.d+e", "0", strings.Repeat("x", MaxLen)}
	bad := []string{"", ".", "..", "-rf", "_x", "a/b", "../etc", "a b", "a\x00b", "é", strings.Repeat("x", MaxLen+1), ".hidden", "a\n"}
	for _, s := range good {
		if err := Validate(s); err != nil {
			t.Errorf("Validate(%q) = %v, want nil", s, err)
		}
	}
	for _, s := range bad {
		err := Validate(s)
		if errkind.Of(err) != errkind.InvalidHandle {
			t.Errorf("Validate(%q) = %v, want InvalidHandle", s, err)
		}
	}
}
