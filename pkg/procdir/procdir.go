// Package procdir is the process directory contract between gdn-run, dadoo
// and anyone who attaches later (design brief §3, reference §1.3):
//
//	$depot/$handle/processes/$id/
//	  stdin stdout stderr   FIFOs: the process's stdio
//	  winsz                 FIFO: JSON {"columns":C,"rows":R} per resize (tty only)
//	  exit                  FIFO: held open by dadoo while the process runs;
//	                        EOF on it means the exit code is written
//	  pidfile               host pid of the process
//	  dadoo.pid             host pid of its dadoo
//	  exitcode              decimal exit status, or 128+signal
//	  dadoo.log             dadoo's own log
//
// Everything a restarted tool needs to reattach is in this directory; no
// state is kept in memory anywhere else.
package procdir

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/gdn-dev/gdn/pkg/atomicfile"
	"github.com/gdn-dev/gdn/pkg/errkind"
	"github.com/gdn-dev/gdn/pkg/handle"
	"golang.org/x/sys/unix"
)

// Names of the entries of a process directory.
const (
	Stdin    = "stdin"
	Stdout   = "stdout"
	Stderr   = "stderr"
	Winsz    = "winsz"
	Exit     = "exit"
	Pidfile  = "pidfile"
	DadooPid = "dadoo.pid"
	ExitCode = "exitcode"
	DadooLog = "dadoo.log"
)

// fifos are created by Create, in this order.
var fifos = []string{Stdin, Stdout, Stderr, Winsz, Exit}

// Subdir is the directory of a container's bundle that holds its process
// directories.
const Subdir = "processes"

// Dir is one process directory.
type Dir string

// Path returns the process directory of process id in the container whose
// bundle is bundle. An invalid id is errkind.InvalidHandle.
func Path(bundle, id string) (Dir, error) {
	if err := handle.Validate(id); err != nil {
		return "", fmt.Errorf("process id: %w", err)
	}
	return Dir(filepath.Join(bundle, Subdir, id)), nil
}

// File returns the path of one entry of d.
func (d Dir) File(name string) string { return filepath.Join(string(d), name) }

// Create makes d (0700) and its FIFOs (0600), owned by uid:gid so that an
// unprivileged container's processes can open them. An existing d is
// errkind.HandleInUse ("process ID already in use"); a failed Create
// removes what it made.
func (d Dir) Create(uid, gid int) (err error) {
	if err := os.MkdirAll(filepath.Dir(string(d)), 0o700); err != nil {
		return fmt.Errorf("process dir: %w", err)
	}
	if err := os.Mkdir(string(d), 0o700); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("process id %q already in use: %w", filepath.Base(string(d)), errkind.HandleInUse)
		}
		return fmt.Errorf("process dir: %w", err)
	}
	defer func() {
		if err != nil {
			os.RemoveAll(string(d))
		}
	}()
	for _, name := range fifos {
		p := d.File(name)
		if err := unix.Mkfifo(p, 0o600); err != nil {
			return fmt.Errorf("mkfifo %q: %w", p, err)
		}
		if err := os.Chown(p, uid, gid); err != nil {
			return fmt.Errorf("chown %q: %w", p, err)
		}
	}
	return nil
}

// Remove deletes d and everything in it; an absent d is not an error.
func (d Dir) Remove() error { return os.RemoveAll(string(d)) }

// Exists reports whether d exists.
func (d Dir) Exists() bool {
	_, err := os.Stat(string(d))
	return err == nil
}

// WritePid writes a pid file entry (Pidfile or DadooPid) atomically. Not
// fsynced: a pid means nothing after the host restarts (atomicfile.Replace).
func (d Dir) WritePid(name string, pid int) error {
	return atomicfile.Replace(d.File(name), []byte(strconv.Itoa(pid)), 0o600)
}

// ReadPid reads a pid file entry; a missing file is fs.ErrNotExist.
func (d Dir) ReadPid(name string) (int, error) {
	b, err := os.ReadFile(d.File(name))
	if err != nil {
		return 0, err
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0, fmt.Errorf("%s: bad pid %q", d.File(name), b)
	}
	return pid, nil
}

// WriteExitCode records the process's exit status atomically: it
// survives the death of any gdn process, which is what waiters need. Not
// fsynced: the process, and everything that waits for it, ends with the
// host (atomicfile.Replace).
func (d Dir) WriteExitCode(status int) error {
	return atomicfile.Replace(d.File(ExitCode), []byte(strconv.Itoa(status)), 0o600)
}

// ReadExitCode returns the recorded exit status; ok is false while there is
// none (the process runs, or its dadoo died before writing it).
func (d Dir) ReadExitCode() (status int, ok bool, err error) {
	b, err := os.ReadFile(d.File(ExitCode))
	if errors.Is(err, fs.ErrNotExist) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	status, err = strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return 0, false, fmt.Errorf("%s: bad exit code %q", d.File(ExitCode), b)
	}
	return status, true, nil
}

// List returns the ids of the process directories under bundle.
func List(bundle string) ([]string, error) {
	entries, err := os.ReadDir(filepath.Join(bundle, Subdir))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, e := range entries {
		if e.IsDir() && handle.Validate(e.Name()) == nil {
			ids = append(ids, e.Name())
		}
	}
	return ids, nil
}
