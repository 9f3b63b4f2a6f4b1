package bundle

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// statfsFlags returns the names of the nodev, noexec and nosuid flags set
// on the mount holding path, in that order.
func statfsFlags(path string) ([]string, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		return nil, fmt.Errorf("statfs %q: %w", path, err)
	}
	var names []string
	for _, f := range []struct {
		bit  int64
		name string
	}{{unix.ST_NODEV, "nodev"}, {unix.ST_NOEXEC, "noexec"}, {unix.ST_NOSUID, "nosuid"}} {
		if int64(st.Flags)&f.bit != 0 {
			names = append(names, f.name)
		}
	}
	return names, nil
}
