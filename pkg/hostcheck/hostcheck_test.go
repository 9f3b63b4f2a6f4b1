package hostcheck

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gdn-dev/gdn/pkg/testutil"
)

// TestRunOnThisHost runs every check for real. The machines gdn is built
// on (root, a hybrid cgroup host with btrfs and nftables) have all the
// blockers; only ip_forward and a bounding set without CAP_SYS_RESOURCE
// may be missing, and neither blocks.
func TestRunOnThisHost(t *testing.T) {
	testutil.RequireRoot(t)
	dir := testutil.WorkDir(t)
	initBin := filepath.Join(dir, "gdn-init")
	if err := os.WriteFile(initBin, []byte("#!/bin/true\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	r := Run(Config{DepotDir: filepath.Join(dir, "depot"), StoreDir: filepath.Join(dir, "store"),
		NetStateDir: filepath.Join(dir, "net"), InitBin: initBin})
	mayMiss := []string{"ip_forward", "capabilities"}
	var names []string
	for _, c := range r.Checks {
		names = append(names, c.Name)
		if c.Status == OK {
			if c.Fix != "" || c.Blocker {
				t.Errorf("%s: ok with a fix or as a blocker: %+v", c.Name, c)
			}
			continue
		}
		if !slices.Contains(mayMiss, c.Name) || c.Blocker {
			t.Errorf("%s: %s: %s", c.Name, c.Status, c.Detail)
		}
		if c.Fix == "" {
			t.Errorf("%s: missing without a fix", c.Name)
		}
	}
	for _, want := range []string{"root", "user namespaces", "overlayfs", "id-mapped mounts", "btrfs", "btrfs-progs",
		"loop devices", "cgroup v1 controllers", "cgroup v2", "nftables", "ip_forward", "capabilities",
		"depot dir", "store dir", "net state dir", "init binary"} {
		if !slices.Contains(names, want) {
			t.Errorf("no %q check", want)
		}
	}
	if err := r.Err(); err != nil {
		t.Errorf("Err() = %v", err)
	}
	// This host's bounding set lacks CAP_SYS_RESOURCE: the check says so.
	if status, _ := os.ReadFile("/proc/self/status"); !hasBoundingSysResource(string(status)) {
		c := r.Checks[slices.Index(names, "capabilities")]
		if c.Status != Missing || !strings.Contains(c.Detail, "CAP_SYS_RESOURCE") {
			t.Errorf("capabilities: %+v, want missing naming CAP_SYS_RESOURCE", c)
		}
	}
	var table bytes.Buffer
	if err := r.WriteTable(&table); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(table.String(), "nothing blocks gdn") {
		t.Errorf("table:\n%s", table.String())
	}
}

// hasBoundingSysResource reads bit 24 (CAP_SYS_RESOURCE) of CapBnd.
func hasBoundingSysResource(status string) bool {
	for _, l := range strings.Split(status, "\n") {
		if hex, ok := strings.CutPrefix(l, "CapBnd:"); ok {
			var v uint64
			for _, ch := range strings.TrimSpace(hex) {
				v = v<<4 | uint64(strings.IndexRune("0123456789abcdef", ch))
			}
			return v&(1<<24) != 0
		}
	}
	return false
}

// A store under a directory container root cannot search blocks, names
// that directory and says how to fix it; so does an init it cannot reach.
func TestRunBlocksOnUnreachableDirs(t *testing.T) {
	testutil.RequireRoot(t)
	dir := testutil.WorkDir(t)
	private := filepath.Join(dir, "private")
	if err := os.Mkdir(private, 0o700); err != nil {
		t.Fatal(err)
	}
	initBin := filepath.Join(private, "gdn-init")
	if err := os.WriteFile(initBin, []byte("#!/bin/true\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	r := Run(Config{DepotDir: filepath.Join(dir, "depot"), StoreDir: filepath.Join(private, "store"),
		NetStateDir: filepath.Join(private, "net"), InitBin: initBin})
	if !slices.Equal(r.Blockers, []string{"store dir", "init binary"}) {
		t.Fatalf("blockers %q, want store dir and init binary (the net state needs no reach)", r.Blockers)
	}
	for _, c := range r.Checks {
		if c.Name == "store dir" && (!strings.Contains(c.Detail, private) || c.Fix != "chmod o+x "+private+" (or choose a directory outside it)") {
			t.Errorf("store dir: %+v", c)
		}
	}
	if err := r.Err(); err == nil || !strings.Contains(err.Error(), "store dir, init binary") {
		t.Errorf("Err() = %v", err)
	}
}
