// Package testutil holds what gdn's kernel tests share: the root check and
// real fixtures (a busybox rootfs, the static init) built on this machine.
package testutil

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"

	"github.com/gdn-dev/gdn/pkg/flock"
)

// RequireRoot skips t, saying why, unless the test runs as root. CI runs as
// root, so these tests always run there.
func RequireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("skipping: needs root (namespaces, cgroups, mounts)")
	}
}

// StoreDir returns where a test's gdn-rootfs store goes (a directory not
// yet made), skipping t without root or btrfs-progs; the store's mount
// goes at the end, after the cleanups registered later (the volumes').
func StoreDir(t testing.TB) string {
	t.Helper()
	RequireRoot(t)
	for _, tool := range []string{"mkfs.btrfs", "btrfs"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("skipping: %s not installed (scripts/install-deps installs btrfs-progs)", tool)
		}
	}
	dir := filepath.Join(t.TempDir(), "store")
	t.Cleanup(func() { _ = exec.Command("umount", dir).Run() })
	return dir
}

// RepoRoot is the repository's top directory.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// WorkDir returns a fresh directory that the unprivileged container root
// (host uid 4294967294) can traverse: t.TempDir's parents are 0700.
func WorkDir(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp("/tmp", "gdn-test-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// Rootfs builds the default busybox rootfs in dir/rootfs with
// scripts/mk-rootfs and returns its path.
func Rootfs(t testing.TB, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "rootfs")
	out, err := exec.Command(filepath.Join(RepoRoot(), "scripts", "mk-rootfs"), path).CombinedOutput()
	if err != nil {
		t.Fatalf("mk-rootfs: %v: %s", err, out)
	}
	return path
}

// InitBinary compiles the sleeping init into dir and returns its path.
func InitBinary(t testing.TB, dir string) string {
	t.Helper()
	return CProgram(t, dir, "gdn-init")
}

// CProgram builds the C program name (gdn-init, dadoo-wait) into dir as
// make build does (the Makefile's rule: static, with musl when it is
// installed) and returns its path.
func CProgram(t testing.TB, dir, name string) string {
	t.Helper()
	dir, err := filepath.Abs(dir)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if out, err := exec.Command("make", "-s", "-C", RepoRoot(), "BIN="+dir, path).CombinedOutput(); err != nil {
		t.Fatalf("build %s: %v: %s", name, err, out)
	}
	return path
}

// netSlot is this test process's network slot (see NetSlot).
var (
	netSlotOnce sync.Once
	netSlot     int
	netSlotErr  error
	// netSlotLock is held open for the process's life: were it only a
	// local, the collector would close it and drop the claim.
	//lint:ignore U1000 written once and kept, never read: its reachability is the point
	netSlotLock *flock.Lock
)

// NetSlots is how many test processes can hold a network slot at once.
const NetSlots = 16

// NetSlot returns a number in [0, NetSlots) that no other test process
// on this host holds while this one runs, so that test runs side by side
// (two checkouts, CI beside a developer) use disjoint address pools,
// ports and device names: networks of overlapping pools on one host
// break each other's routes whatever their tools do. The claim is a
// flock, dropped by the kernel when the process ends.
func NetSlot(t testing.TB) int {
	t.Helper()
	netSlotOnce.Do(func() {
		dir := "/run/gdn-test-net-slots"
		if netSlotErr = os.MkdirAll(dir, 0o755); netSlotErr != nil {
			return
		}
		for i := range NetSlots {
			l, ok, err := flock.TryAcquire(filepath.Join(dir, fmt.Sprintf("slot-%d.lock", i)))
			if err != nil {
				netSlotErr = err
				return
			}
			if ok {
				netSlot, netSlotLock = i, l
				return
			}
		}
		netSlotErr = fmt.Errorf("all %d test network slots are held by other test processes", NetSlots)
	})
	if netSlotErr != nil {
		t.Fatalf("network slot: %v", netSlotErr)
	}
	return netSlot
}

// SyncBuffer is a bytes.Buffer that goroutines of the code under test may
// write while the test reads it.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
