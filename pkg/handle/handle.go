// Package handle validates container handles and process ids, the names
// that become directory names in the depot and container ids in the runtime
// root, so that nothing a client sends can escape those directories.
package handle

import (
	"fmt"
	"regexp"

	"github.com/gdn-dev/gdn/pkg/errkind"
)

// MaxLen is the longest allowed handle: containerd's identifier limit, so a
// handle valid here is valid for every runtime Garden has used.
const MaxLen = 76

// pattern is runc's character set with a leading alphanumeric, which rules
// out ".", ".." and names that look like flags.
var pattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.+-]{0,75}$`)

// Validate returns an error wrapping errkind.InvalidHandle unless s is a
// valid handle or process id. It does no I/O.
func Validate(s string) error {
	if !pattern.MatchString(s) {
		return fmt.Errorf("invalid handle %q: must match %s: %w", s, pattern, errkind.InvalidHandle)
	}
	return nil
}
