package stream

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gdn-dev/gdn/pkg/testutil"
	"golang.org/x/sys/unix"
)

// newRoot returns a fresh container root directory (root-owned, 0755, in a
// directory every user can traverse) and its parent.
func newRoot(t *testing.T) (root, parent string) {
	t.Helper()
	parent = testutil.WorkDir(t)
	root = filepath.Join(parent, "root")
	if err := os.Mkdir(root, 0o755); err != nil {
		t.Fatal(err)
	}
	return root, parent
}

// target opens root as a container root, as gdn-run opens
// /proc/<init>/root, to act as uid:gid.
func target(t *testing.T, root string, uid, gid int) Target {
	t.Helper()
	fd, err := unix.Open(root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	f := os.NewFile(uintptr(fd), root)
	t.Cleanup(func() { f.Close() })
	return Target{Root: f, UID: uid, GID: gid}
}

// entry is one member of a test archive.
type entry struct {
	name     string
	typ      byte
	mode     int64
	body     string
	linkname string
}

func file(name string, mode int64, body string) entry {
	return entry{name: name, typ: tar.TypeReg, mode: mode, body: body}
}

func dir(name string, mode int64) entry { return entry{name: name, typ: tar.TypeDir, mode: mode} }

func symlink(name, to string) entry {
	return entry{name: name, typ: tar.TypeSymlink, mode: 0o777, linkname: to}
}

func hardlink(name, to string) entry {
	return entry{name: name, typ: tar.TypeLink, mode: 0o644, linkname: to}
}

// mtime is the modification time of every archive member.
var mtime = time.Date(2020, 2, 20, 20, 20, 20, 0, time.UTC)

func archive(t *testing.T, entries ...entry) *bytes.Buffer {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		hdr := &tar.Header{
			Name: e.name, Typeflag: e.typ, Mode: e.mode, Size: int64(len(e.body)),
			Linkname: e.linkname, ModTime: mtime, Format: tar.FormatPAX,
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(tw, e.body); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return &buf
}

// member is what the test reads back from an archive.
type member struct {
	name     string
	typ      byte
	mode     int64
	uid, gid int
	body     string
	linkname string
	uname    string
	gname    string
}

func readArchive(t *testing.T, r io.Reader) []member {
	t.Helper()
	var ms []member
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return ms
		}
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		ms = append(ms, member{
			name: hdr.Name, typ: hdr.Typeflag, mode: hdr.Mode & 0o7777, uid: hdr.Uid, gid: hdr.Gid,
			body: string(body), linkname: hdr.Linkname, uname: hdr.Uname, gname: hdr.Gname,
		})
	}
}

func mustNotExist(t *testing.T, path string) {
	t.Helper()
	if _, err := os.Lstat(path); err == nil {
		os.RemoveAll(path)
		t.Errorf("%s was created", path)
	} else if !os.IsNotExist(err) {
		t.Errorf("lstat %s: %v", path, err)
	}
}

// hostName returns a name, unique to this test run, for a path on the
// host that a stream must never create.
func hostName() string {
	return fmt.Sprintf("gdn-pwned-%d-%d", os.Getpid(), time.Now().UnixNano())
}

func owner(t *testing.T, path string) (uid, gid int) {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Lstat(path, &st); err != nil {
		t.Fatal(err)
	}
	return int(st.Uid), int(st.Gid)
}
