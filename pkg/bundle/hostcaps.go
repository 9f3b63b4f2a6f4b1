package bundle

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/moby/sys/capability"
)

// statusPath is where the kernel reports this process's capability sets.
const statusPath = "/proc/self/status"

// ParseBoundingSet returns the names ("CAP_CHOWN" form, in capability
// number order) of the capabilities in the CapBnd line of a
// /proc/<pid>/status text. Bits for capabilities newer than the
// capability package knows are left out, since no name can be given to
// them. A text without a well-formed CapBnd line is an error.
func ParseBoundingSet(status string) ([]string, error) {
	sc := bufio.NewScanner(strings.NewReader(status))
	for sc.Scan() {
		hex, ok := strings.CutPrefix(sc.Text(), "CapBnd:")
		if !ok {
			continue
		}
		mask, err := strconv.ParseUint(strings.TrimSpace(hex), 16, 64)
		if err != nil {
			return nil, fmt.Errorf("parse CapBnd: %w", err)
		}
		var names []string
		for _, c := range capability.ListKnown() {
			if c < 64 && mask&(1<<uint(c)) != 0 {
				names = append(names, "CAP_"+strings.ToUpper(c.String()))
			}
		}
		return names, nil
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return nil, fmt.Errorf("no CapBnd line in process status")
}

// BoundingCapabilities returns the names of the capabilities in this
// process's bounding set: the most any container it starts can hold.
func BoundingCapabilities() ([]string, error) {
	b, err := os.ReadFile(statusPath)
	if err != nil {
		return nil, fmt.Errorf("read capabilities: %w", err)
	}
	return ParseBoundingSet(string(b))
}
