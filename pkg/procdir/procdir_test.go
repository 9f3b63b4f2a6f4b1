package procdir

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"

	"github.com/gdn-dev/gdn/pkg/errkind"
)

func TestPath(t *testing.T) {
	cases := []struct {
		name     string
		id       string
		want     Dir
		wantKind errkind.Kind
	}{
		{name: "plain id", id: "p1", want: "/b/processes/p1"},
		{name: "uuid", id: "0b5a2c1e-7f6d-4e3a-9c8b-1a2b3c4d5e6f", want: "/b/processes/0b5a2c1e-7f6d-4e3a-9c8b-1a2b3c4d5e6f"},
		{name: "climbs out", id: "../x", wantKind: errkind.InvalidHandle},
		{name: "dot dot", id: "..", wantKind: errkind.InvalidHandle},
		{name: "slash", id: "a/b", wantKind: errkind.InvalidHandle},
		{name: "empty", id: "", wantKind: errkind.InvalidHandle},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Path("/b", tc.id)
			if tc.wantKind != "" {
				if errkind.Of(err) != tc.wantKind {
					t.Fatalf("Path(%q) = %q, %v; want %s", tc.id, got, err, tc.wantKind)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("Path(%q) = %q, %v; want %q", tc.id, got, err, tc.want)
			}
		})
	}
}

// newDir returns a process directory path (not yet created) in a fresh
// bundle.
func newDir(t *testing.T) Dir {
	t.Helper()
	d, err := Path(t.TempDir(), "p1")
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// created returns a created process directory owned by the test's user.
func created(t *testing.T) Dir {
	t.Helper()
	d := newDir(t)
	if err := d.Create(os.Getuid(), os.Getgid()); err != nil {
		t.Fatal(err)
	}
	return d
}

func statT(t *testing.T, path string) (fs.FileInfo, *syscall.Stat_t) {
	t.Helper()
	fi, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi, fi.Sys().(*syscall.Stat_t)
}

func TestCreate(t *testing.T) {
	// Root can give the FIFOs to another user, as for an unprivileged
	// container; anyone else can only give them to itself.
	uid, gid := os.Getuid(), os.Getgid()
	if uid == 0 {
		uid, gid = 1000, 1001
	}
	d := newDir(t)
	if err := d.Create(uid, gid); err != nil {
		t.Fatal(err)
	}
	if !d.Exists() {
		t.Fatal("Exists() = false after Create")
	}
	fi, _ := statT(t, string(d))
	if !fi.IsDir() || fi.Mode().Perm() != 0o700 {
		t.Errorf("dir mode = %v, want a 0700 directory", fi.Mode())
	}
	for _, name := range []string{Stdin, Stdout, Stderr, Winsz, Exit} {
		t.Run(name, func(t *testing.T) {
			fi, st := statT(t, d.File(name))
			if fi.Mode().Type() != fs.ModeNamedPipe {
				t.Errorf("type = %v, want a FIFO", fi.Mode().Type())
			}
			if fi.Mode().Perm() != 0o600 {
				t.Errorf("perm = %v, want 0600", fi.Mode().Perm())
			}
			if int(st.Uid) != uid || int(st.Gid) != gid {
				t.Errorf("owner = %d:%d, want %d:%d", st.Uid, st.Gid, uid, gid)
			}
		})
	}
}

func TestCreateTwiceIsHandleInUseAndLeavesTheFirst(t *testing.T) {
	d := created(t)
	if err := d.WritePid(Pidfile, 42); err != nil {
		t.Fatal(err)
	}
	before, err := os.ReadDir(string(d))
	if err != nil {
		t.Fatal(err)
	}

	err = d.Create(os.Getuid(), os.Getgid())
	if errkind.Of(err) != errkind.HandleInUse {
		t.Fatalf("second Create = %v, want HandleInUse", err)
	}
	after, err := os.ReadDir(string(d))
	if err != nil {
		t.Fatalf("first process dir gone: %v", err)
	}
	if names(before) != names(after) {
		t.Errorf("entries changed: before %s, after %s", names(before), names(after))
	}
	if pid, err := d.ReadPid(Pidfile); err != nil || pid != 42 {
		t.Errorf("pidfile after second Create = %d, %v; want 42", pid, err)
	}
}

func names(entries []fs.DirEntry) string {
	var s []string
	for _, e := range entries {
		s = append(s, e.Name())
	}
	return strings.Join(s, ",")
}

func TestCreateFailureRemovesTheDir(t *testing.T) {
	// A process dir path so long that the directory itself can be made
	// but not the FIFOs in it (ENAMETOOLONG), so Create fails half-way.
	const pathMax = 4095 // PATH_MAX without the NUL
	id := strings.Repeat("p", 40)
	target := pathMax - 3 - len("/"+Subdir+"/") - len(id) // the bundle's length
	base := t.TempDir()
	for target-len(base) > 250 {
		base = filepath.Join(base, strings.Repeat("b", 200))
	}
	base = filepath.Join(base, strings.Repeat("b", target-len(base)-1))
	d, err := Path(base, id)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(d); n > pathMax || n+len("/"+Stdin) <= pathMax {
		t.Fatalf("test setup: dir path length %d does not straddle PATH_MAX", n)
	}

	err = d.Create(os.Getuid(), os.Getgid())
	if err == nil {
		t.Fatal("Create succeeded; want ENAMETOOLONG for the FIFOs")
	}
	if errkind.Of(err) == errkind.HandleInUse {
		t.Errorf("Create = %v; a failure is not HandleInUse", err)
	}
	if d.Exists() {
		t.Error("failed Create left the process dir behind")
	}
}

func TestCreateInABundleThatIsAFile(t *testing.T) {
	bundle := filepath.Join(t.TempDir(), "bundle")
	if err := os.WriteFile(bundle, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	d, err := Path(bundle, "p1")
	if err != nil {
		t.Fatal(err)
	}
	err = d.Create(os.Getuid(), os.Getgid())
	if err == nil || errkind.Of(err) == errkind.HandleInUse {
		t.Fatalf("Create = %v, want a plain error", err)
	}
}

func TestRemove(t *testing.T) {
	d := created(t)
	if err := d.Remove(); err != nil {
		t.Fatal(err)
	}
	if d.Exists() {
		t.Error("Exists() = true after Remove")
	}
	if err := d.Remove(); err != nil {
		t.Errorf("Remove of an absent dir = %v, want nil", err)
	}
}

func TestPidFiles(t *testing.T) {
	cases := []struct {
		name    string
		content string // written raw; "" means: WritePid(1234)
		missing bool
		want    int
		wantErr bool
	}{
		{name: "written by WritePid", want: 1234},
		{name: "trailing newline", content: "77\n", want: 77},
		{name: "missing", missing: true, wantErr: true},
		{name: "not a number", content: "abc", wantErr: true},
		{name: "zero", content: "0", wantErr: true},
		{name: "negative", content: "-5", wantErr: true},
		{name: "empty", content: " ", wantErr: true},
	}
	for _, tc := range cases {
		for _, name := range []string{Pidfile, DadooPid} {
			t.Run(tc.name+"/"+name, func(t *testing.T) {
				d := created(t)
				switch {
				case tc.missing:
				case tc.content == "":
					if err := d.WritePid(name, 1234); err != nil {
						t.Fatal(err)
					}
				default:
					if err := os.WriteFile(d.File(name), []byte(tc.content), 0o600); err != nil {
						t.Fatal(err)
					}
				}
				got, err := d.ReadPid(name)
				if (err != nil) != tc.wantErr || got != tc.want {
					t.Fatalf("ReadPid = %d, %v; want %d, error %v", got, err, tc.want, tc.wantErr)
				}
				if tc.missing && !errors.Is(err, fs.ErrNotExist) {
					t.Errorf("ReadPid of a missing file = %v, want fs.ErrNotExist", err)
				}
			})
		}
	}
}

func TestExitCode(t *testing.T) {
	cases := []struct {
		name    string
		write   func(d Dir) error
		want    int
		wantOK  bool
		wantErr bool
	}{
		{name: "missing", write: func(Dir) error { return nil }},
		{name: "zero", write: func(d Dir) error { return d.WriteExitCode(0) }, want: 0, wantOK: true},
		{name: "killed", write: func(d Dir) error { return d.WriteExitCode(137) }, want: 137, wantOK: true},
		{name: "overwritten", write: func(d Dir) error {
			if err := d.WriteExitCode(1); err != nil {
				return err
			}
			return d.WriteExitCode(2)
		}, want: 2, wantOK: true},
		{name: "garbage", write: func(d Dir) error {
			return os.WriteFile(d.File(ExitCode), []byte("x"), 0o600)
		}, wantErr: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := created(t)
			if err := tc.write(d); err != nil {
				t.Fatal(err)
			}
			got, ok, err := d.ReadExitCode()
			if got != tc.want || ok != tc.wantOK || (err != nil) != tc.wantErr {
				t.Fatalf("ReadExitCode = %d, %v, %v; want %d, %v, error %v", got, ok, err, tc.want, tc.wantOK, tc.wantErr)
			}
		})
	}
}

func TestList(t *testing.T) {
	t.Run("no processes dir", func(t *testing.T) {
		ids, err := List(t.TempDir())
		if err != nil || ids != nil {
			t.Fatalf("List = %v, %v; want nil, nil", ids, err)
		}
	})
	t.Run("dirs with valid ids only", func(t *testing.T) {
		bundle := t.TempDir()
		for _, id := range []string{"p2", "p1"} {
			d, err := Path(bundle, id)
			if err != nil {
				t.Fatal(err)
			}
			if err := d.Create(os.Getuid(), os.Getgid()); err != nil {
				t.Fatal(err)
			}
		}
		procs := filepath.Join(bundle, Subdir)
		if err := os.Mkdir(filepath.Join(procs, ".tmp"), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(procs, "file"), nil, 0o600); err != nil {
			t.Fatal(err)
		}
		ids, err := List(bundle)
		if err != nil {
			t.Fatal(err)
		}
		if want := []string{"p1", "p2"}; !reflect.DeepEqual(ids, want) {
			t.Errorf("List = %q, want %q", ids, want)
		}
	})
}
