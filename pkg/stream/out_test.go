package stream

import (
	"archive/tar"
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/gdn-dev/gdn/pkg/errkind"
	"github.com/gdn-dev/gdn/pkg/idmap"
	"github.com/gdn-dev/gdn/pkg/testutil"
)

// dataTree makes root/data: a.txt, link -> a.txt, sub/b.txt.
func dataTree(t *testing.T, root string) {
	t.Helper()
	data := filepath.Join(root, "data")
	for _, step := range []error{
		os.MkdirAll(filepath.Join(data, "sub"), 0o755),
		os.Chmod(filepath.Join(data, "sub"), 0o750),
		os.WriteFile(filepath.Join(data, "a.txt"), []byte("A"), 0o640),
		os.Chmod(filepath.Join(data, "a.txt"), 0o640),
		os.WriteFile(filepath.Join(data, "sub", "b.txt"), []byte("BB"), 0o644),
		os.Symlink("a.txt", filepath.Join(data, "link")),
	} {
		if step != nil {
			t.Fatal(step)
		}
	}
}

func TestOut(t *testing.T) {
	testutil.RequireRoot(t)
	root, _ := newRoot(t)
	dataTree(t, root)
	if err := os.Symlink("/", filepath.Join(root, "escape")); err != nil {
		t.Fatal(err)
	}
	tgt := target(t, root, 0, 0)
	// Entries of the data tree under a prefix, in archive order.
	tree := func(prefix string) []member {
		return []member{
			{name: prefix + "/", typ: tar.TypeDir, mode: 0o755},
			{name: prefix + "/a.txt", typ: tar.TypeReg, mode: 0o640, body: "A"},
			{name: prefix + "/link", typ: tar.TypeSymlink, mode: 0o777, linkname: "a.txt"},
			{name: prefix + "/sub/", typ: tar.TypeDir, mode: 0o750},
			{name: prefix + "/sub/b.txt", typ: tar.TypeReg, mode: 0o644, body: "BB"},
		}
	}
	cases := []struct {
		name string
		src  string
		want []member
	}{
		{name: "directory", src: "/data", want: tree("data")},
		{name: "relative directory", src: "data", want: tree("data")},
		{name: "directory contents", src: "/data/", want: tree(".")},
		{name: "file", src: "/data/a.txt", want: []member{{name: "a.txt", typ: tar.TypeReg, mode: 0o640, body: "A"}}},
		{name: "nested file", src: "/data/sub/b.txt", want: []member{{name: "b.txt", typ: tar.TypeReg, mode: 0o644, body: "BB"}}},
		{
			name: "through an absolute symlink",
			src:  "/escape/data/sub/b.txt",
			want: []member{{name: "b.txt", typ: tar.TypeReg, mode: 0o644, body: "BB"}},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := Out(tgt, tc.src, &buf); err != nil {
				t.Fatalf("Out = %v", err)
			}
			got := readArchive(t, &buf)
			// Ownership is TestOutRecordsContainerIDs's business.
			for i := range got {
				got[i].uid, got[i].gid = 0, 0
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("archive:\n got  %+v\n want %+v", got, tc.want)
			}
		})
	}
}

func TestOutOfTheRoot(t *testing.T) {
	testutil.RequireRoot(t)
	root, _ := newRoot(t)
	dataTree(t, root)
	var buf bytes.Buffer
	if err := Out(target(t, root, 0, 0), "/", &buf); err != nil {
		t.Fatalf("Out = %v", err)
	}
	var names []string
	for _, m := range readArchive(t, &buf) {
		names = append(names, m.name)
	}
	want := []string{"./", "./data/", "./data/a.txt", "./data/link", "./data/sub/", "./data/sub/b.txt"}
	if !reflect.DeepEqual(names, want) {
		t.Errorf("names = %q, want %q", names, want)
	}
}

func TestOutErrors(t *testing.T) {
	testutil.RequireRoot(t)
	root, _ := newRoot(t)
	dataTree(t, root)
	secret := filepath.Join(root, "secret")
	if err := os.Mkdir(secret, 0o700); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name     string
		src      string
		uid      int
		wantKind errkind.Kind
		wantPerm bool
	}{
		{name: "missing", src: "/missing", wantKind: errkind.InvalidSpec},
		{name: "missing under a file", src: "/data/a.txt/x", wantKind: errkind.InvalidSpec},
		{name: "file with a trailing slash", src: "/data/a.txt/", wantKind: errkind.InvalidSpec},
		{name: "unreadable for the user", src: "/secret/", uid: 1000, wantPerm: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			err := Out(target(t, root, tc.uid, tc.uid), tc.src, &buf)
			if err == nil {
				t.Fatalf("Out = nil, want an error")
			}
			if tc.wantKind != "" && errkind.Of(err) != tc.wantKind {
				t.Errorf("Out = %v, want %s", err, tc.wantKind)
			}
			if tc.wantPerm && !errors.Is(err, fs.ErrPermission) {
				t.Errorf("Out = %v, want permission denied", err)
			}
		})
	}
}

func TestOutRecordsContainerIDs(t *testing.T) {
	testutil.RequireRoot(t)
	const maximus = 4294967294
	root, _ := newRoot(t)
	ids := filepath.Join(root, "ids")
	if err := os.Mkdir(ids, 0o755); err != nil {
		t.Fatal(err)
	}
	owners := map[string][2]int{
		"container-root": {maximus, maximus},
		"host-root":      {0, 0},
		"user":           {1000, 1001},
	}
	for name, o := range owners {
		p := filepath.Join(ids, name)
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(p, o[0], o[1]); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chown(ids, maximus, maximus); err != nil {
		t.Fatal(err)
	}

	cases := []struct {
		name string
		maps []idmap.Mapping
		want map[string][2]int // archive name: uid, gid
	}{
		{
			name: "unprivileged",
			maps: idmap.Mappings(maximus),
			want: map[string][2]int{
				"./": {0, 0}, "./container-root": {0, 0}, "./host-root": {65534, 65534}, "./user": {1000, 1001},
			},
		},
		{
			name: "privileged",
			want: map[string][2]int{
				"./": {maximus, maximus}, "./container-root": {maximus, maximus}, "./host-root": {0, 0}, "./user": {1000, 1001},
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tgt := target(t, root, 0, 0)
			tgt.UIDMap, tgt.GIDMap = tc.maps, tc.maps
			var buf bytes.Buffer
			if err := Out(tgt, "/ids/", &buf); err != nil {
				t.Fatalf("Out = %v", err)
			}
			got := map[string][2]int{}
			for _, m := range readArchive(t, &buf) {
				got[m.name] = [2]int{m.uid, m.gid}
				if m.uname != "" || m.gname != "" {
					t.Errorf("%s has names %q:%q, want none", m.name, m.uname, m.gname)
				}
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("ids = %v, want %v", got, tc.want)
			}
		})
	}
	t.Run("single file", func(t *testing.T) {
		tgt := target(t, root, 0, 0)
		tgt.UIDMap, tgt.GIDMap = idmap.Mappings(maximus), idmap.Mappings(maximus)
		var buf bytes.Buffer
		if err := Out(tgt, "/ids/container-root", &buf); err != nil {
			t.Fatalf("Out = %v", err)
		}
		ms := readArchive(t, &buf)
		if len(ms) != 1 || ms[0].uid != 0 || ms[0].gid != 0 || ms[0].uname != "" {
			t.Errorf("archive = %+v, want one entry owned by 0:0 without names", ms)
		}
	})
}
