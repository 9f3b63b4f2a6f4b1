package stream

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/gdn-dev/gdn/pkg/errkind"
	"github.com/gdn-dev/gdn/pkg/testutil"
)

func TestInUnpacksEveryKindOfEntry(t *testing.T) {
	testutil.RequireRoot(t)
	root, _ := newRoot(t)
	tgt := target(t, root, 0, 0)
	a := archive(t,
		dir("d/", 0o750),
		file("d/f", 0o640, "hello"),
		symlink("d/l", "f"),
		hardlink("d/h", "d/f"),
		// Modes the umask would cut.
		dir("shared/", 0o777),
		file("shared/open", 0o666, "anyone"),
		// Leading "/" and "./" are relative to the destination; a
		// parent missing from the archive is created.
		file("/abs.txt", 0o600, "abs"),
		file("./implied/parent/x", 0o644, "x"),
		dir("./", 0o755),
	)
	// The destination is missing: In creates it.
	if err := In(tgt, "/dest/sub", a); err != nil {
		t.Fatalf("In = %v", err)
	}
	dest := filepath.Join(root, "dest", "sub")
	cases := []struct {
		path     string
		mode     fs.FileMode // type and permissions
		body     string
		linkname string
	}{
		{path: "d", mode: fs.ModeDir | 0o750},
		{path: "d/f", mode: 0o640, body: "hello"},
		{path: "d/l", mode: fs.ModeSymlink | 0o777, linkname: "f"},
		{path: "d/h", mode: 0o640, body: "hello"},
		{path: "shared", mode: fs.ModeDir | 0o777},
		{path: "shared/open", mode: 0o666, body: "anyone"},
		{path: "abs.txt", mode: 0o600, body: "abs"},
		{path: "implied/parent", mode: fs.ModeDir | 0o755},
		{path: "implied/parent/x", mode: 0o644, body: "x"},
	}
	for _, tc := range cases {
		t.Run(tc.path, func(t *testing.T) {
			p := filepath.Join(dest, tc.path)
			fi, err := os.Lstat(p)
			if err != nil {
				t.Fatal(err)
			}
			if got := fi.Mode() & (fs.ModeType | fs.ModePerm); got != tc.mode {
				t.Errorf("mode = %v, want %v", got, tc.mode)
			}
			if tc.linkname != "" {
				if got, err := os.Readlink(p); err != nil || got != tc.linkname {
					t.Errorf("readlink = %q, %v; want %q", got, err, tc.linkname)
				}
			}
			if fi.Mode().IsRegular() {
				if b, err := os.ReadFile(p); err != nil || string(b) != tc.body {
					t.Errorf("content = %q, %v; want %q", b, err, tc.body)
				}
				if !fi.ModTime().Equal(mtime) {
					t.Errorf("mtime = %v, want %v", fi.ModTime(), mtime)
				}
			}
		})
	}
	f, _ := os.Stat(filepath.Join(dest, "d/f"))
	h, _ := os.Stat(filepath.Join(dest, "d/h"))
	if f == nil || h == nil || !os.SameFile(f, h) {
		t.Error("d/h is not a hard link to d/f")
	}
}

func TestInReplacesExistingEntries(t *testing.T) {
	testutil.RequireRoot(t)
	root, _ := newRoot(t)
	tgt := target(t, root, 0, 0)
	if err := In(tgt, "/dest", archive(t, file("f", 0o644, "old"), symlink("l", "f"))); err != nil {
		t.Fatal(err)
	}
	if err := In(tgt, "/dest", archive(t, file("f", 0o600, "new"), file("l", 0o644, "no longer a link"))); err != nil {
		t.Fatalf("second In = %v", err)
	}
	for name, want := range map[string]string{"f": "new", "l": "no longer a link"} {
		p := filepath.Join(root, "dest", name)
		fi, err := os.Lstat(p)
		if err != nil || !fi.Mode().IsRegular() {
			t.Errorf("%s: %v, %v; want a regular file", name, fi, err)
			continue
		}
		if b, _ := os.ReadFile(p); string(b) != want {
			t.Errorf("%s = %q, want %q", name, b, want)
		}
	}
	// A directory in the way of a file is an error, not a removal.
	err := In(tgt, "/", archive(t, file("dest", 0o644, "x")))
	if err == nil {
		t.Error("In of a file over a directory = nil, want an error")
	}
	if fi, err := os.Stat(filepath.Join(root, "dest")); err != nil || !fi.IsDir() {
		t.Errorf("dest after a refused overwrite: %v, %v", fi, err)
	}
}

func TestInRefusesEntriesThatLeaveTheDestination(t *testing.T) {
	testutil.RequireRoot(t)
	cases := []struct {
		name    string
		entries []entry
		// Paths, relative to the root's parent, that must not exist.
		absent []string
	}{
		{name: "dot dot", entries: []entry{file("../../x", 0o644, "escaped")}, absent: []string{"x", "root/x"}},
		{name: "dot dot inside", entries: []entry{file("a/../../../x", 0o644, "escaped")}, absent: []string{"x", "root/x"}},
		{name: "hard link out", entries: []entry{hardlink("x", "../../secret")}, absent: []string{"root/dest/x"}},
		{name: "after good entries", entries: []entry{file("ok", 0o644, "fine"), file("../../x", 0o644, "escaped")}, absent: []string{"x", "root/x"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			root, parent := newRoot(t)
			if err := os.WriteFile(filepath.Join(parent, "secret"), []byte("host"), 0o644); err != nil {
				t.Fatal(err)
			}
			err := In(target(t, root, 0, 0), "/dest", archive(t, tc.entries...))
			if errkind.Of(err) != errkind.InvalidSpec {
				t.Fatalf("In = %v, want InvalidSpec", err)
			}
			for _, p := range tc.absent {
				mustNotExist(t, filepath.Join(parent, p))
			}
		})
	}
}

func TestInMalformedArchive(t *testing.T) {
	testutil.RequireRoot(t)
	a := archive(t, file("f", 0o644, strings.Repeat("x", 4096))).Bytes()
	cases := []struct {
		name  string
		input []byte
	}{
		{name: "not a tar", input: []byte(strings.Repeat("garbage!", 100))},
		{name: "cut in a header", input: a[:100]},
		{
			name:  "cut in a file",
			input: a[:512+1000],
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			root, _ := newRoot(t)
			err := In(target(t, root, 0, 0), "/dest", bytes.NewReader(tc.input))
			if errkind.Of(err) != errkind.InvalidSpec {
				t.Fatalf("In = %v, want InvalidSpec", err)
			}
		})
	}
}

func TestInResolvesAbsoluteSymlinksInsideTheRoot(t *testing.T) {
	testutil.RequireRoot(t)
	root, _ := newRoot(t)
	if err := os.Symlink("/", filepath.Join(root, "escape")); err != nil {
		t.Fatal(err)
	}
	name := hostName()
	t.Cleanup(func() { os.RemoveAll("/" + name) })

	if err := In(target(t, root, 0, 0), "/escape/"+name, archive(t, file("f", 0o644, "inside"))); err != nil {
		t.Fatalf("In = %v", err)
	}
	if b, err := os.ReadFile(filepath.Join(root, name, "f")); err != nil || string(b) != "inside" {
		t.Errorf("root/%s/f = %q, %v; want the streamed file", name, b, err)
	}
	mustNotExist(t, "/"+name)
}

func TestInDoesNotFollowSymlinksItPlants(t *testing.T) {
	testutil.RequireRoot(t)
	victim := filepath.Join(testutil.WorkDir(t), "victim")
	name := hostName()
	t.Cleanup(func() { os.RemoveAll("/tmp/" + name) })
	cases := []struct {
		name    string
		entries []entry
	}{
		{name: "absolute to slash", entries: []entry{symlink("up", "/"), file("up/tmp/"+name, 0o644, "pwned")}},
		{name: "absolute to a host dir", entries: []entry{symlink("up", "/tmp"), file("up/"+name, 0o644, "pwned")}},
		{name: "relative and climbing", entries: []entry{
			symlink("up", "../../../../../../../../../.."), file("up/tmp/"+name, 0o644, "pwned"),
		}},
		{name: "directory through a link", entries: []entry{symlink("up", "/tmp"), dir("up/"+name+"/", 0o755)}},
		{name: "file over a link to a host file", entries: []entry{symlink("f", victim), file("f", 0o644, "pwned")}},
		{name: "hard link through a link", entries: []entry{symlink("up", "/"), hardlink("h", "up"+victim)}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := os.WriteFile(victim, []byte("precious"), 0o644); err != nil {
				t.Fatal(err)
			}
			root, _ := newRoot(t)
			err := In(target(t, root, 0, 0), "/dest", archive(t, tc.entries...))
			t.Logf("In = %v", err)
			mustNotExist(t, "/tmp/"+name)
			if b, err := os.ReadFile(victim); err != nil || string(b) != "precious" {
				t.Errorf("host file %s = %q, %v; want it untouched", victim, b, err)
			}
			v, _ := os.Stat(victim)
			if h, err := os.Lstat(filepath.Join(root, "dest", "h")); err == nil && v != nil && os.SameFile(v, h) {
				t.Errorf("dest/h is a hard link to the host's %s", victim)
			}
		})
	}
}

func TestInAsAUser(t *testing.T) {
	testutil.RequireRoot(t)
	const uid, gid = 1000, 1001
	root, _ := newRoot(t)
	home := filepath.Join(root, "home", "u")
	if err := os.MkdirAll(home, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(home, uid, gid); err != nil {
		t.Fatal(err)
	}
	tgt := target(t, root, uid, gid)

	t.Run("own directory", func(t *testing.T) {
		if err := In(tgt, "/home/u/new", archive(t, dir("d/", 0o755), file("d/f", 0o644, "mine"))); err != nil {
			t.Fatalf("In = %v", err)
		}
		for _, p := range []string{"new", "new/d", "new/d/f"} {
			if u, g := owner(t, filepath.Join(home, p)); u != uid || g != gid {
				t.Errorf("%s owned by %d:%d, want %d:%d", p, u, g, uid, gid)
			}
		}
	})
	t.Run("root's directory", func(t *testing.T) {
		err := In(tgt, "/", archive(t, file("f", 0o644, "not mine")))
		if !errors.Is(err, fs.ErrPermission) {
			t.Fatalf("In = %v, want permission denied", err)
		}
		mustNotExist(t, filepath.Join(root, "f"))
	})
	t.Run("missing destination under root's directory", func(t *testing.T) {
		err := In(tgt, "/opt/app", archive(t, file("f", 0o644, "not mine")))
		if err == nil {
			t.Fatal("In = nil, want an error")
		}
		mustNotExist(t, filepath.Join(root, "opt"))
	})

	// The user's credentials stay on the streaming thread: what the test
	// creates now, on whatever thread, belongs to root.
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			p := filepath.Join(root, "after", string(rune('a'+i)))
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Error(err)
				return
			}
			if u, g := owner(t, p); u != 0 || g != 0 {
				t.Errorf("%s owned by %d:%d after a stream as %d: credentials leaked", p, u, g, uid)
			}
		})
	}
	wg.Wait()
}

func TestEntryName(t *testing.T) {
	cases := []struct {
		in     string
		want   string
		wantOK bool
	}{
		{in: "a", want: "a", wantOK: true},
		{in: "a/b/", want: "a/b", wantOK: true},
		{in: "/a/b", want: "a/b", wantOK: true},
		{in: "//a", want: "a", wantOK: true},
		{in: "./a", want: "a", wantOK: true},
		{in: "a/../b", want: "b", wantOK: true},
		{in: "a/..", want: ".", wantOK: true},
		{in: ".", want: ".", wantOK: true},
		{in: "./", want: ".", wantOK: true},
		{in: "", want: ".", wantOK: true},
		{in: "..a", want: "..a", wantOK: true},
		{in: "a/..b", want: "a/..b", wantOK: true},
		{in: "..", wantOK: false},
		{in: "../", wantOK: false},
		{in: "../x", wantOK: false},
		{in: "a/../../x", wantOK: false},
		{in: "/../x", wantOK: false},
		{in: "./../x", wantOK: false},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			got, ok := entryName(tc.in)
			if ok != tc.wantOK || got != tc.want {
				t.Errorf("entryName(%q) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.wantOK)
			}
		})
	}
}

func TestResolve(t *testing.T) {
	for _, tc := range []struct{ home, p, want string }{
		{"/home/vcap", "/etc", "/etc"},
		{"/home/vcap", "app", "/home/vcap/app"},
		{"/home/vcap", "app/", "/home/vcap/app/"},
		{"/home/vcap", "./", "/home/vcap/"},
		{"/home/vcap", "../../..", "/"},
		{"/", "app", "/app"},
		{"", "app", "/app"},
		{"/", "./", "/"},
	} {
		if got := Resolve(tc.home, tc.p); got != tc.want {
			t.Errorf("Resolve(%q, %q) = %q, want %q", tc.home, tc.p, got, tc.want)
		}
	}
}

// A refusal reads as a tar in the container prints it, and still is the
// errno underneath.
func TestInPermissionErrorsInTarsWords(t *testing.T) {
	testutil.RequireRoot(t)
	root, _ := newRoot(t)
	err := In(target(t, root, 1000, 1000), "/", archive(t, file("f", 0o644, "x")))
	if !errors.Is(err, fs.ErrPermission) || !strings.Contains(err.Error(), "Cannot open: Permission denied") {
		t.Fatalf("In = %v, want Cannot open: Permission denied", err)
	}
	err = In(target(t, root, 1000, 1000), "/new", archive(t, file("f", 0o644, "x")))
	if !errors.Is(err, fs.ErrPermission) || !strings.Contains(err.Error(), "Cannot mkdir: Permission denied") {
		t.Fatalf("In = %v, want Cannot mkdir: Permission denied", err)
	}
}
