package stream

import (
	"fmt"
	"os"
	"path"
	"runtime"
	"strings"

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
	// Entered says the process already is the user, inside the
	// container (package enter): it works with its own credentials, and
	// UID, GID and Groups are not used.
	Entered bool
}

// asUser runs fn on a thread of its own with t's file-system credentials.
// setfsuid, setfsgid and setgroups here are raw per-thread system calls;
// the thread is never unlocked, so Go ends it with the goroutine and no
// other code ever runs with these credentials.
func asUser(t Target, fn func() error) error {
	if t.Entered {
		return fn()
	}
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

// Resolve makes p, a destination or source as Garden clients give it,
// absolute: a relative path is relative to the user's home (where a
// process of the user starts), as in Guardian. A trailing "/" is kept: for
// stream-out it asks for a directory's contents.
func Resolve(home, p string) string {
	if path.IsAbs(p) {
		return p
	}
	abs := path.Join("/", home, p)
	if strings.HasSuffix(p, "/") && abs != "/" {
		abs += "/"
	}
	return abs
}

// rootAt opens an os.Root on an open directory.
func rootAt(dir *os.File) (*os.Root, error) {
	return os.OpenRoot(fmt.Sprintf("/proc/self/fd/%d", dir.Fd()))
}
