package stream

import (
	"fmt"
	"os"
	"runtime"

	"github.com/gdn-dev/gdn/pkg/idmap"
	"golang.org/x/sys/unix"
)

// Target is where a stream goes: a handle on the container's root
// directory (opened by someone allowed to, e.g. root on
// /proc/<init>/root) and the host ids of the user to act as.
type Target struct {
	Root   *os.File
	UID    int
	GID    int
	Groups []int
	// UIDMap and GIDMap are the container's id mappings, to record
	// container ids (not host ids) in archives; none without a user
	// namespace.
	UIDMap, GIDMap []idmap.Mapping
}

// asUser runs fn on a thread of its own with t's file-system credentials.
// setfsuid, setfsgid and setgroups here are raw per-thread system calls;
// the thread is never unlocked, so Go ends it with the goroutine and no
// other code ever runs with these credentials.
func asUser(t Target, fn func() error) error {
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		done <- func() error {
			groups := t.Groups
			if groups == nil {
				groups = []int{}
			}
			if err := unix.Setgroups(groups); err != nil {
				return fmt.Errorf("setgroups: %w", err)
			}
			unix.Setfsgid(t.GID)
			unix.Setfsuid(t.UID)
			if got, _ := unix.SetfsuidRetUid(-1); got != t.UID {
				return fmt.Errorf("setfsuid %d did not take (now %d)", t.UID, got)
			}
			return fn()
		}()
	}()
	return <-done
}

// rootAt opens an os.Root on an open directory.
func rootAt(dir *os.File) (*os.Root, error) {
	return os.OpenRoot(fmt.Sprintf("/proc/self/fd/%d", dir.Fd()))
}
