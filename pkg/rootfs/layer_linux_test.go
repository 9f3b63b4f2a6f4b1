package rootfs

import (
	"archive/tar"
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gdn-dev/gdn/pkg/errkind"
	"github.com/gdn-dev/gdn/pkg/idmap"
	"github.com/gdn-dev/gdn/pkg/testutil"
	"golang.org/x/sys/unix"
)

// tarOf builds a tar stream from headers; regular files get body "x".
func tarOf(t testing.TB, hdrs ...tar.Header) *bytes.Buffer {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, h := range hdrs {
		if h.Typeflag == tar.TypeReg {
			h.Size = 1
		}
		if h.Mode == 0 {
			h.Mode = 0o644
		}
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			tw.Write([]byte("x"))
		}
	}
	tw.Close()
	return &buf
}

func unpackTo(t testing.TB, dir string, uids []idmap.Mapping, r *bytes.Buffer) error {
	t.Helper()
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	return (&unpacker{root: root, uidMap: uids, gidMap: uids}).unpack(r)
}

func TestLayerPath(t *testing.T) {
	for name, want := range map[string]string{"a/b": "a/b", "/a/b": "a/b", "./a/../b": "b", "a/": "a", "": ".", "/": "."} {
		if got, ok := layerPath(name); !ok || got != want {
			t.Errorf("layerPath(%q) = %q, %v; want %q", name, got, ok, want)
		}
	}
	for _, bad := range []string{"..", "../a", "a/../../b", "/../x"} {
		if got, ok := layerPath(bad); ok {
			t.Errorf("layerPath(%q) = %q, want refused", bad, got)
		}
	}
}

// FuzzLayerPath: whatever the entry name, an accepted path stays inside
// the layer. Seeds: the f.Add calls, and inputs a fuzzing run found
// interesting, kept in testdata/fuzz/FuzzLayerPath.
func FuzzLayerPath(f *testing.F) {
	for _, s := range []string{"a", "../a", "a/../../b", "/etc/passwd", "./.././x", "a//b/./c", "..", "...", "a/..b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		got, ok := layerPath(name)
		if !ok {
			return
		}
		joined := filepath.Join("/layer", got)
		if joined != "/layer" && !strings.HasPrefix(joined, "/layer/") {
			t.Fatalf("layerPath(%q) = %q escapes to %q", name, got, joined)
		}
	})
}

func TestUnpackWhiteoutsOwnershipAndModes(t *testing.T) {
	testutil.RequireRoot(t)
	dir := t.TempDir()
	maps := idmap.Mappings(4294967294)
	err := unpackTo(t, dir, maps, tarOf(t,
		tar.Header{Name: "etc/", Typeflag: tar.TypeDir, Mode: 0o755},
		tar.Header{Name: "etc/shadow", Typeflag: tar.TypeReg, Mode: 0o640, Uid: 0, Gid: 42},
		tar.Header{Name: "bin/su", Typeflag: tar.TypeReg, Mode: 0o4755},
		tar.Header{Name: "home/vcap/f", Typeflag: tar.TypeReg, Uid: 1000, Gid: 1000},
		tar.Header{Name: "etc/.wh.hostname", Typeflag: tar.TypeReg},
		tar.Header{Name: "opt/.wh..wh..opq", Typeflag: tar.TypeReg},
		tar.Header{Name: "link", Typeflag: tar.TypeSymlink, Linkname: "/etc/shadow"},
		tar.Header{Name: "hard", Typeflag: tar.TypeLink, Linkname: "etc/shadow"},
	))
	if err != nil {
		t.Fatal(err)
	}
	stat := func(p string) *unix.Stat_t {
		var st unix.Stat_t
		if err := unix.Lstat(filepath.Join(dir, p), &st); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		return &st
	}
	if st := stat("etc/shadow"); st.Uid != 4294967294 || st.Gid != 42 || st.Mode&0o7777 != 0o640 {
		t.Errorf("etc/shadow: uid %d gid %d mode %o; want maximus, 42, 0640", st.Uid, st.Gid, st.Mode&0o7777)
	}
	if st := stat("bin/su"); st.Mode&0o7777 != 0o4755 {
		t.Errorf("setuid lost: mode %o", st.Mode&0o7777)
	}
	if st := stat("home/vcap/f"); st.Uid != 1000 {
		t.Errorf("uid 1000 must map to itself, got %d", st.Uid)
	}
	if st := stat("etc/hostname"); st.Mode&unix.S_IFMT != unix.S_IFCHR || st.Rdev != 0 {
		t.Errorf("whiteout is not a 0:0 character device: mode %o rdev %d", st.Mode, st.Rdev)
	}
	buf := make([]byte, 8)
	if n, err := unix.Getxattr(filepath.Join(dir, "opt"), "trusted.overlay.opaque", buf); err != nil || string(buf[:n]) != "y" {
		t.Errorf("opaque dir: %q, %v", buf[:n], err)
	}
	if target, _ := os.Readlink(filepath.Join(dir, "link")); target != "/etc/shadow" {
		t.Errorf("symlink target %q", target)
	}
	if a, b := stat("hard"), stat("etc/shadow"); a.Ino != b.Ino {
		t.Error("hard link is not a link")
	}
}

func TestUnpackRefusesEscapes(t *testing.T) {
	testutil.RequireRoot(t)
	outside := t.TempDir()
	cases := map[string]*bytes.Buffer{
		"dotdot": tarOf(t, tar.Header{Name: "../../" + filepath.Base(outside) + "/pwned", Typeflag: tar.TypeReg}),
		"through a symlink": tarOf(t,
			tar.Header{Name: "up", Typeflag: tar.TypeSymlink, Linkname: outside},
			tar.Header{Name: "up/pwned", Typeflag: tar.TypeReg}),
		"hard link out": tarOf(t, tar.Header{Name: "h", Typeflag: tar.TypeLink, Linkname: "../../etc/passwd"}),
		"whiteout through a symlink": tarOf(t,
			tar.Header{Name: "up", Typeflag: tar.TypeSymlink, Linkname: outside},
			tar.Header{Name: "up/.wh.pwned", Typeflag: tar.TypeReg}),
	}
	for name, layer := range cases {
		t.Run(name, func(t *testing.T) {
			err := unpackTo(t, t.TempDir(), nil, layer)
			if err == nil {
				t.Fatal("unpack succeeded")
			}
			if _, statErr := os.Lstat(filepath.Join(outside, "pwned")); statErr == nil {
				t.Fatal("wrote outside the layer")
			}
			if name == "dotdot" && errkind.Of(err) != errkind.InvalidSpec {
				t.Errorf("got %v, want InvalidSpec", err)
			}
		})
	}
}
