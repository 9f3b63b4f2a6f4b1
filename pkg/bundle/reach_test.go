package bundle

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/gdn-dev/gdn/pkg/errkind"
	"github.com/gdn-dev/gdn/pkg/idmap"
	"github.com/gdn-dev/gdn/pkg/testutil"
	"github.com/opencontainers/runtime-spec/specs-go"
)

const maximus = 4294967294

// gdnMappings are gdn's default mappings: container root is the host's
// maximus, every other id maps to itself; host root is unmapped.
var gdnMappings = toSpec(idmap.Mappings(maximus))

func TestContainerRootMay(t *testing.T) {
	r := containerRoot{uid: maximus, gid: maximus, uids: gdnMappings, gids: gdnMappings}
	dir, file := uint32(syscall.S_IFDIR), uint32(syscall.S_IFREG)
	for _, tc := range []struct {
		name     string
		mode     uint32
		uid, gid uint32
		want     uint32
		ok       bool
	}{
		{"host root's 0755 dir: search", dir | 0o755, 0, 0, mayExec, true},
		{"host root's 0755 dir: create", dir | 0o755, 0, 0, mayWrite | mayExec, false},
		{"host root's 0700 dir", dir | 0o700, 0, 0, mayExec, false},
		{"host root's 0711 dir", dir | 0o711, 0, 0, mayExec, true},
		{"host root's 1777 dir: create", dir | 0o1777, 0, 0, mayWrite | mayExec, true},
		{"a mapped user's 0700 dir: capabilities hold", dir | 0o700, 1000, 1000, mayWrite | mayExec, true},
		{"mapped owner, unmapped group: no capabilities", dir | 0o700, 1000, 0, mayExec, false},
		{"its own 0700 dir", dir | 0o700, maximus, maximus, mayWrite | mayExec, true},
		{"its group's 0070 dir", dir | 0o070, 0, maximus, mayExec, true},
		{"host root's 0700 init", file | 0o700, 0, 0, mayExec, false},
		{"host root's 0755 init", file | 0o755, 0, 0, mayExec, true},
		{"a mapped user's 0600 file: no x bit, no exec", file | 0o600, 1000, 1000, mayExec, false},
		{"a mapped user's 0700 file", file | 0o700, 1000, 1000, mayExec, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := &syscall.Stat_t{Mode: tc.mode, Uid: tc.uid, Gid: tc.gid}
			if got := r.may(st, tc.want); got != tc.ok {
				t.Errorf("may(%o) on %04o %d:%d = %v, want %v", tc.want, tc.mode&0o7777, tc.uid, tc.gid, got, tc.ok)
			}
		})
	}
}

// reachSpec is an unprivileged spec on rootfs with gdn's mounts, the init
// and the network files a depot adds.
func reachSpec(t *testing.T, rootfs, initBin string) *specs.Spec {
	t.Helper()
	cfg := Config{InitPath: initBin, UIDMappings: idmap.Mappings(maximus), GIDMappings: idmap.Mappings(maximus), CgroupV1: true,
		MountFlags: func(string) ([]string, error) { return nil, nil }}
	spec, err := Generate(Desired{Handle: "reach", Rootfs: rootfs}, DefaultRules(cfg))
	if err != nil {
		t.Fatal(err)
	}
	for _, dst := range []string{"/etc/hosts", "/etc/resolv.conf"} {
		spec.Mounts = append(spec.Mounts, specs.Mount{Destination: dst, Type: "bind", Source: filepath.Join(rootfs, "..", "bundle", filepath.Base(dst))})
	}
	return spec
}

// TestCheckReach runs as root: as any other user, the test's files belong
// to a mapped id and container root's capabilities reach them all.
func TestCheckReach(t *testing.T) {
	testutil.RequireRoot(t)
	base := t.TempDir()
	if err := os.Chmod(filepath.Dir(base), 0o755); err != nil {
		t.Fatal(err)
	}
	mk := func(dir string, mode os.FileMode, points ...string) string {
		t.Helper()
		for _, p := range append([]string{""}, points...) {
			if err := os.MkdirAll(filepath.Join(dir, p), 0o755); err != nil {
				t.Fatal(err)
			}
		}
		for _, f := range []string{"etc/hosts", "etc/resolv.conf"} {
			if len(points) > 0 {
				_ = os.WriteFile(filepath.Join(dir, f), nil, 0o644)
			}
		}
		if err := os.Chmod(dir, mode); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	full := []string{"proc", "dev", "sys", "tmp", "etc"}
	initBin := filepath.Join(base, "gdn-init")
	if err := os.WriteFile(initBin, nil, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(base, 0o755); err != nil {
		t.Fatal(err)
	}
	good := mk(filepath.Join(base, "good"), 0o755, full...)
	_ = os.Chmod(filepath.Join(good, "tmp"), 0o1777)
	private := mk(filepath.Join(base, "private"), 0o700)
	hidden := mk(filepath.Join(private, "rootfs"), 0o755, full...)
	bare := mk(filepath.Join(base, "bare"), 0o755, "bin")
	volume := mk(filepath.Join(base, "volume"), 0o755, "bin")
	if err := os.Chown(volume, maximus, maximus); err != nil {
		t.Fatal(err)
	}
	privateInit, lockedInit := filepath.Join(private, "gdn-init"), filepath.Join(base, "gdn-init-0700")
	for f, mode := range map[string]os.FileMode{privateInit: 0o755, lockedInit: 0o700} {
		if err := os.WriteFile(f, nil, mode); err != nil {
			t.Fatal(err)
		}
	}

	for _, tc := range []struct {
		name, rootfs, init string
		privileged, onRoot bool
		want               []string // in the message; none: no error
	}{
		{name: "a reachable rootfs with its mount points", rootfs: good, init: initBin},
		{name: "an init under a 0700 directory: opened on the host side", rootfs: good, init: privateInit},
		{name: "a rootfs under a 0700 directory", rootfs: hidden, init: initBin,
			want: []string{`cannot search "` + private + `"`, "mode 0700", "chmod o+x " + private}},
		{name: "privileged: no user namespace, no check", rootfs: hidden, init: initBin, privileged: true},
		{name: "an init container root cannot execute", rootfs: good, init: lockedInit,
			want: []string{`init binary "` + lockedInit + `"`, "cannot execute", "chmod o+rx"}},
		{name: "a bare host-owned rootfs", rootfs: bare, init: initBin,
			want: []string{"lacks mount points", "/proc, /dev, /sys, /tmp/garden-init, /etc/hosts, /etc/resolv.conf",
				"mkdir -p " + bare + "/proc", "touch " + bare + "/tmp/garden-init " + bare + "/etc/hosts"}},
		{name: "a bare rootfs container root owns (a volume)", rootfs: volume, init: initBin},
		{name: "a bare host-owned mount point with a file system mounted on / (an unmounted overlay)", rootfs: bare, init: initBin, onRoot: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec := reachSpec(t, tc.rootfs, tc.init)
			if tc.onRoot {
				spec.Mounts = append([]specs.Mount{{Destination: "/", Type: "overlay", Source: "overlay"}}, spec.Mounts...)
			}
			if tc.privileged {
				spec.Linux.UIDMappings, spec.Linux.GIDMappings = nil, nil
			}
			err := CheckReach(spec)
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("got %v", err)
				}
				return
			}
			if errkind.Of(err) != errkind.InvalidSpec {
				t.Fatalf("got %v, want InvalidSpec", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%q lacks %q", err, w)
				}
			}
		})
	}
}
