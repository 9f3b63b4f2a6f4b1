// Package testutil holds what gdn's kernel tests share: the root check and
// real fixtures (a busybox rootfs, the static init) built on this machine.
package testutil

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

// RequireRoot skips t, saying why, unless the test runs as root. CI runs as
// root, so these tests always run there.
func RequireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("skipping: needs root (namespaces, cgroups, mounts)")
	}
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
	path := filepath.Join(dir, "gdn-init")
	src := filepath.Join(RepoRoot(), "cmd", "gdn-init", "init.c")
	out, err := exec.Command("cc", "-static", "-Os", "-s", "-o", path, src).CombinedOutput()
	if err != nil {
		t.Fatalf("build gdn-init: %v: %s", err, out)
	}
	return path
}
