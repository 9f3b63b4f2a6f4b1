// Package enter runs a program (gdn-run itself) inside a container: joined
// to its init's user, mount and pid namespaces, as one of its users, with
// the capabilities a process of that user in the container has (root the
// container's bounding set, anyone else none). The kernel then checks every
// file operation exactly as for that process: container root's
// CAP_DAC_OVERRIDE works in the container and nowhere else.
//
// Joining a user namespace needs a single-threaded process, which a Go
// program never is once its runtime runs; so the joining is done by a C
// constructor (enter.c) of the program started by Run, before its runtime
// starts. A binary that calls Run must import this package, which it does
// by calling Run. The started program is a child of a small shadow that
// stays outside the pid namespace and passes on how it ended.
package enter

// #cgo CFLAGS: -Wall -Werror
import "C"

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"

	"github.com/moby/sys/capability"
)

// envName carries the spec to enter.c.
const envName = "_GDN_ENTER"

// Spec is the container to enter and who to be in it.
type Spec struct {
	// Pid is the container's init, and StartTime its start time (field
	// 22 of /proc/<pid>/stat; 0 to not check), so that a process that got
	// the pid of an init gone is never entered.
	Pid       int
	StartTime uint64
	// UserNS: the container has a user namespace of its own (it is not
	// privileged); UID, GID and Groups are ids inside it.
	UserNS   bool
	UID, GID int
	Groups   []int
	// Bounding names the container's bounding set ("CAP_CHOWN", ...).
	Bounding []string
}

// Run runs cmd (whose program must import this package) inside the
// container. Its ExtraFiles and Env are extended; a failure to enter is
// reported by the program on its stderr as a gdn error JSON line, and it
// exits 1.
func Run(cmd *exec.Cmd, s Spec) error {
	lo, hi, err := capMask(s.Bounding)
	if err != nil {
		return err
	}
	var fds []*os.File
	defer func() {
		for _, f := range fds {
			f.Close()
		}
	}()
	userFD := -1
	for _, ns := range []string{"user", "mnt", "pid"} {
		if ns == "user" && !s.UserNS {
			continue
		}
		f, err := os.Open(fmt.Sprintf("/proc/%d/ns/%s", s.Pid, ns))
		if err != nil {
			return fmt.Errorf("enter container: %w", err)
		}
		fds = append(fds, f)
	}
	// Checked after the namespaces are open: if the pid still is the
	// init's, they are the init's.
	if s.StartTime != 0 {
		if st, err := startTime(s.Pid); err != nil || st != s.StartTime {
			return fmt.Errorf("enter container: init %d is gone", s.Pid)
		}
	}
	base := 3 + len(cmd.ExtraFiles)
	cmd.ExtraFiles = append(cmd.ExtraFiles, fds...)
	mnt := base
	if s.UserNS {
		userFD, mnt = base, base+1
	}
	groups := make([]string, len(s.Groups))
	for i, g := range s.Groups {
		groups[i] = strconv.Itoa(g)
	}
	spec := fmt.Sprintf("%d:%d:%d:%d:%d:%d:%d:%s", userFD, mnt, mnt+1, s.UID, s.GID, lo, hi, strings.Join(groups, ","))
	if cmd.Env == nil {
		cmd.Env = os.Environ()
	}
	cmd.Env = append(cmd.Env, envName+"="+spec)
	// The death signal follows the thread that started the child.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	return cmd.Run()
}

// capMask turns capability names into the two 32-bit halves of a mask.
func capMask(names []string) (lo, hi uint32, err error) {
	byName := map[string]capability.Cap{}
	for _, c := range capability.ListKnown() {
		byName["CAP_"+strings.ToUpper(c.String())] = c
	}
	for _, n := range names {
		c, ok := byName[strings.ToUpper(n)]
		if !ok {
			return 0, 0, fmt.Errorf("enter container: unknown capability %q", n)
		}
		if c < 32 {
			lo |= 1 << uint(c)
		} else {
			hi |= 1 << uint(c-32)
		}
	}
	return lo, hi, nil
}

// startTime reads field 22 of /proc/<pid>/stat, counting after the
// command name, which may hold spaces and parentheses.
func startTime(pid int) (uint64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: no command name", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 20 {
		return 0, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f))
	}
	return strconv.ParseUint(f[19], 10, 64) // field 22 is the 20th after the name
}
