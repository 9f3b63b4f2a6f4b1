package stream

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
	"syscall"

	pathrs "github.com/cyphar/filepath-securejoin/pathrs-lite"
	"github.com/gdn-dev/gdn/pkg/errkind"
	"github.com/gdn-dev/gdn/pkg/tarpath"
)

// In unpacks the tar archive r into dest inside t's root, as t's user.
// dest is created (owned by the user) if missing. An entry that would land
// outside dest is errkind.InvalidSpec; a malformed archive too.
func In(t Target, dest string, r io.Reader) error {
	return asUser(t, func() error {
		dir, err := pathrs.MkdirAllHandle(t.Root, dest, 0o755)
		if err != nil {
			return fmt.Errorf("destination %q: %w: %w", dest, tarErr("Cannot mkdir", err), errkind.InvalidSpec)
		}
		defer dir.Close()
		root, err := rootAt(dir)
		if err != nil {
			return fmt.Errorf("destination %q: %w", dest, tarErr("Cannot open", err))
		}
		defer root.Close()
		return extract(root, r)
	})
}

func extract(root *os.Root, r io.Reader) error {
	err := tarpath.Each(r, func(name string, hdr *tar.Header, content io.Reader) error {
		return extractEntry(root, name, hdr, content)
	})
	return err
}

// entryName cleans an archive path (see tarpath.Clean).
func entryName(name string) (string, bool) { return tarpath.Clean(name) }

func extractEntry(root *os.Root, name string, hdr *tar.Header, r io.Reader) error {
	mode := fs.FileMode(hdr.Mode).Perm()
	if dir := path.Dir(name); dir != "." {
		if err := root.MkdirAll(dir, 0o755); err != nil {
			return tarErr("Cannot mkdir", err)
		}
	}
	switch hdr.Typeflag {
	case tar.TypeDir:
		if err := root.Mkdir(name, mode); err != nil && !errors.Is(err, fs.ErrExist) {
			return tarErr("Cannot mkdir", err)
		}
		return tarErr("Cannot change mode", root.Chmod(name, mode))
	case tar.TypeReg:
		// Replace, never write through, whatever is there: it may be
		// a symlink pointing elsewhere in the container.
		if err := removeNonDir(root, name); err != nil {
			return err
		}
		if err := tarpath.WriteFile(root, name, mode, r); err != nil {
			return tarErr("Cannot open", err)
		}
		// The umask cut the mode at creation.
		if err := root.Chmod(name, mode); err != nil {
			return tarErr("Cannot change mode", err)
		}
		return tarErr("Cannot utime", root.Chtimes(name, hdr.ModTime, hdr.ModTime))
	case tar.TypeSymlink:
		if err := removeNonDir(root, name); err != nil {
			return err
		}
		return tarErr("Cannot create symlink", root.Symlink(hdr.Linkname, name))
	case tar.TypeLink:
		target, ok := entryName(hdr.Linkname)
		if !ok {
			return fmt.Errorf("hard link to %q leaves the destination: %w", hdr.Linkname, errkind.InvalidSpec)
		}
		if err := removeNonDir(root, name); err != nil {
			return err
		}
		return tarErr("Cannot hard link", root.Link(target, name))
	}
	return nil // devices, FIFOs and the like: see the package comment
}

func removeNonDir(root *os.Root, name string) error {
	st, err := root.Lstat(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return tarErr("Cannot stat", err)
	}
	if st.IsDir() {
		return fmt.Errorf("a directory is in the way")
	}
	return tarErr("Cannot unlink", root.Remove(name))
}

// tarErr words err as a tar in the container would print it: the action,
// then the system's message for the errno ("Cannot open: Permission
// denied"), so clients matching on those words keep working. Nil stays
// nil; errors.Is still finds the errno and any errkind.
func tarErr(action string, err error) error {
	if err == nil {
		return nil
	}
	return &actionError{action: action, err: err}
}

type actionError struct {
	action string
	err    error
}

func (e *actionError) Error() string {
	var errno syscall.Errno
	var kind errkind.Kind
	switch {
	case errors.As(e.err, &kind):
		return e.err.Error() // already worded, by us
	case errors.As(e.err, &errno):
		return e.action + ": " + strerror(errno)
	}
	return e.action + ": " + e.err.Error()
}

func (e *actionError) Unwrap() error { return e.err }

// strerror is the C library's message for errno: Go's are the same words
// without the capital.
func strerror(errno syscall.Errno) string {
	msg := errno.Error()
	if msg == "" {
		return msg
	}
	return strings.ToUpper(msg[:1]) + msg[1:]
}
