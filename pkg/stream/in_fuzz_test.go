package stream

import (
	"archive/tar"
	"bytes"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/gdn-dev/gdn/pkg/testutil"
)

// scriptArchive builds a tar archive from a script, one entry a line:
// a type letter, the name, and for links a tab and the link target.
// f file, d directory, l symlink, h hard link, p FIFO, c char device,
// anything else a file with that type byte. Fuzzing a script rather than
// raw tar bytes keeps the mutations on names and link targets, where
// escapes live, instead of on header checksums.
func scriptArchive(script string) *bytes.Buffer {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for line := range strings.SplitSeq(script, "\n") {
		if line == "" {
			continue
		}
		name, link, _ := strings.Cut(line[1:], "\t")
		hdr := &tar.Header{Name: name, Linkname: link, Mode: 0o755, ModTime: mtime, Format: tar.FormatPAX}
		body := ""
		switch line[0] {
		case 'f':
			hdr.Typeflag, body = tar.TypeReg, "data of "+name
		case 'd':
			hdr.Typeflag = tar.TypeDir
		case 'l':
			hdr.Typeflag = tar.TypeSymlink
		case 'h':
			hdr.Typeflag = tar.TypeLink
		case 'p':
			hdr.Typeflag = tar.TypeFifo
		case 'c':
			hdr.Typeflag = tar.TypeChar
		default:
			hdr.Typeflag = line[0]
		}
		hdr.Size = int64(len(body))
		if tw.WriteHeader(hdr) != nil {
			continue // a header tar cannot write (a NUL in a name...)
		}
		tw.Write([]byte(body))
	}
	tw.Close()
	return &buf
}

// node is what the check sees of one file.
type node struct {
	mode  fs.FileMode
	mtime int64
	nlink uint64
	uid   uint32
	link  string
	body  string
}

// snapshot records every file under dir, not following symlinks, by its
// path relative to dir.
func snapshot(t *testing.T, dir string) map[string]node {
	t.Helper()
	out := map[string]node{}
	err := filepath.WalkDir(dir, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		st := fi.Sys().(*syscall.Stat_t)
		n := node{mode: fi.Mode(), mtime: fi.ModTime().UnixNano(), nlink: uint64(st.Nlink), uid: st.Uid}
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			n.link, _ = os.Readlink(p)
		case fi.Mode().IsRegular():
			b, _ := os.ReadFile(p)
			n.body = string(b)
		}
		rel, _ := filepath.Rel(dir, p)
		out[rel] = n
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// fuzzWorkDir is a fresh directory on tmpfs when the host has one: the
// target makes and removes a small tree per input, which costs about ten
// times as much on a journalled /tmp.
func fuzzWorkDir(t *testing.T) string {
	dir, err := os.MkdirTemp("/dev/shm", "gdn-fuzz-")
	if err != nil {
		return testutil.WorkDir(t)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// FuzzIn: whatever the archive and the destination, stream-in never
// panics and changes nothing outside the container's root; with the
// destination /dest, nothing outside /dest either. The destination holds
// symlinks out of it (relative, absolute, into the root's /etc) and the
// root an absolute one, for entries to try to follow, and a file and a
// FIFO to hard-link or overwrite.
func FuzzIn(f *testing.F) {
	testutil.RequireRoot(f)
	// One escape attempt a seed: the first refused entry ends the
	// stream, so later ones in the same archive would never be tried.
	for _, s := range [][2]string{
		{"d/\nfd/f\nld/l\tf\nhd/h\td/f\nf/abs.txt\nf./implied/parent/x\nd./", "/dest"},
		{"f../../x", "/dest"},
		{"fa/../../../x", "/dest"},
		{"fup/pwned", "/dest"},
		{"fabs/pwned", "/dest"},
		{"fcroot/pwned", "/dest"},
		{"fescape/tmp/pwned", "/dest"},
		{"lnew\t../../outside\nfnew/pwned", "/dest"},
		{"lnew\t/\nfnew/tmp/pwned", "/dest"},
		{"fup", "/dest"},
		{"labs\t/etc", "/dest"},
		{"dcroot", "/dest"},
		{"dup/", "/dest"},
		{"hh\t../../outside/secret", "/dest"},
		{"hh\tup/secret", "/dest"},
		{"hh\tabs/secret", "/dest"},
		{"hh\tcroot/passwd", "/dest"},
		{"hmine\tkeep\nfkeep\nlkeep\t/etc/passwd", "/dest"},
		{"hup\tkeep", "/dest"},
		{"pfifo\ncdev\nffifo", "/dest"},
		{"f\x00bad", "/dest"},
		{"fx", "/escape/tmp"},
		{"fx", "/dest/up"},
		{"fx", "/../../outside"},
		{"fx", "/dest/croot/passwd"},
		{"fx", "dest/../../.."},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, script, dest string) {
		work := fuzzWorkDir(t)
		root := filepath.Join(work, "root")
		for _, d := range []string{"outside/dir", "root/etc", "root/dest"} {
			if err := os.MkdirAll(filepath.Join(work, d), 0o755); err != nil {
				t.Fatal(err)
			}
		}
		for p, body := range map[string]string{"outside/secret": "secret", "root/etc/passwd": "root:x:0:0::/:/bin/sh", "root/dest/keep": "keep"} {
			if err := os.WriteFile(filepath.Join(work, p), []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		for p, to := range map[string]string{
			"root/dest/up": "../../outside", "root/dest/abs": filepath.Join(work, "outside"),
			"root/dest/croot": "../etc", "root/escape": "/",
		} {
			if err := os.Symlink(to, filepath.Join(work, p)); err != nil {
				t.Fatal(err)
			}
		}
		if err := syscall.Mkfifo(filepath.Join(root, "dest", "fifo"), 0o644); err != nil {
			t.Fatal(err)
		}
		before := snapshot(t, work)

		_ = In(target(t, root, 0, 0), dest, scriptArchive(script))

		inside := "root/"
		if dest == "/dest" {
			inside = "root/dest/"
		}
		after := snapshot(t, work)
		for _, p := range slices.Sorted(maps.Keys(before)) {
			if strings.HasPrefix(p+"/", inside) {
				continue // the destination itself, and what is in it
			}
			if a, ok := after[p]; !ok || a != before[p] {
				t.Fatalf("stream-in of %q to %q changed %s, outside %s: %+v, was %+v", script, dest, p, inside, a, before[p])
			}
		}
		for p := range after {
			if _, ok := before[p]; !ok && !strings.HasPrefix(p, inside) {
				t.Fatalf("stream-in of %q to %q created %s, outside %s", script, dest, p, inside)
			}
		}
		if n := after["outside/secret"].nlink; n != 1 {
			t.Fatalf("a host file got %d links", n)
		}
	})
}
