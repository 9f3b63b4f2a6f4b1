package server_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gdn-dev/gdn/pkg/garden"
)

// wrappedBinDir returns a --bin-dir holding gdn's real tools, except that
// gdn-run is a wrapper that, while the file named by the returned path
// exists, acts on "delete" as mode says: "fail" exits 1 without deleting,
// "hold" touches path+".reached" and sleeps (a destroy stuck there, for
// a kill -9 of the server to land in the middle of).
func wrappedBinDir(t *testing.T, dir, mode string) (binDir, trigger string) {
	t.Helper()
	binDir = filepath.Join(dir, "wrapped-bin")
	trigger = filepath.Join(dir, "trigger")
	if err := os.MkdirAll(binDir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"gdn-depot", "gdn-rootfs", "gdn-net", "dadoo", "gdn-server", "gdn-init"} {
		if err := os.Symlink(bin(name), filepath.Join(binDir, name)); err != nil {
			t.Fatal(err)
		}
	}
	act := "exit 1"
	if mode == "hold" {
		act = `touch "$T.reached"; sleep 60`
	}
	script := `#!/bin/sh
T=` + trigger + `
case " $* " in *" delete "*) [ -e "$T" ] && { echo '{"error":{"type":"Internal","message":"injected delete failure"}}' >&2; ` + act + `; } ;; esac
exec ` + bin("gdn-run") + ` "$@"
`
	if err := os.WriteFile(filepath.Join(binDir, "gdn-run"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return binDir, trigger
}

func touch(t *testing.T, path string) {
	t.Helper()
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
}

// A create whose rollback cannot delete the runtime container keeps the
// container's bundle (marked creating, so unlisted): the depot never
// forgets a container the runtime still runs, and the next start finishes
// the destroy.
func TestFailedRollbackKeepsTheContainerForRecovery(t *testing.T) {
	dir := t.TempDir()
	binDir, trigger := wrappedBinDir(t, dir, "fail")
	g := startGdn(t, "--bin-dir", binDir)
	touch(t, trigger)
	// A net-out rule gdn-net refuses: the create fails at the network
	// stage, after gdn-run create.
	_, err := g.client.Create(garden.ContainerSpec{Handle: "r1", NetOut: json.RawMessage(`[{"protocol":3,"ports":[{"start":1,"end":2}]}]`)})
	if err == nil {
		t.Fatal("create with an invalid net-out rule succeeded")
	}
	t.Logf("create failed as planned: %v", err)
	if hs, _ := g.client.Containers(nil); len(hs) != 0 {
		t.Errorf("a failed create is listed: %v", hs)
	}
	if out := g.tool("", "gdn-run", "list"); !strings.Contains(out, `"r1"`) {
		t.Fatalf("the injected failure did not keep the runtime container: %s", out)
	}
	all, err := g.client.Containers(garden.Properties{"garden.state": "creating"})
	if err != nil || len(all) != 1 || all[0].Handle() != "r1" {
		t.Fatalf("the runtime container's bundle is not kept, marked creating: %v %v", all, err)
	}
	if err := os.Remove(trigger); err != nil {
		t.Fatal(err)
	}
	g.stop(syscall.SIGTERM)
	g.start()
	if out := g.tool("", "gdn-run", "list"); strings.Contains(out, `"r1"`) {
		t.Errorf("startup left the failed create's runtime container: %s", out)
	}
	if _, err := os.Stat(filepath.Join(g.dir, "depot", "r1")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("startup left the failed create's bundle: %v", err)
	}
}

// A server killed in the middle of a destroy leaves a container marked
// destroying: no list shows it, and the next start finishes the destroy.
func TestKill9DuringDestroyIsFinishedAtStart(t *testing.T) {
	dir := t.TempDir()
	binDir, trigger := wrappedBinDir(t, dir, "hold")
	g := startGdn(t, "--bin-dir", binDir)
	keep := g.create(garden.ContainerSpec{Handle: "keep", Properties: garden.Properties{"app": "x"}})
	g.create(garden.ContainerSpec{Handle: "d1", Properties: garden.Properties{"app": "x"}})
	touch(t, trigger)
	go func() { _ = g.client.Destroy("d1") }()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if _, err := os.Stat(trigger + ".reached"); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("destroy never reached gdn-run delete")
		}
		time.Sleep(10 * time.Millisecond)
	}
	g.stop(syscall.SIGKILL)
	_ = os.Remove(trigger) // the held wrapper, orphaned, runs on harmlessly
	// Between the kill and the next start, the tools' own view: d1's
	// bundle is there, marked destroying.
	if out := g.tool("", "gdn-depot", "--depot", filepath.Join(g.dir, "depot"), "props", "d1", "get", "garden.state"); !strings.Contains(out, "destroying") {
		t.Fatalf("d1 is not marked destroying: %s", out)
	}
	g.start()
	for _, filter := range []garden.Properties{nil, {"app": "x"}, {"garden.state": "all"}} {
		hs, err := g.client.Containers(filter)
		if err != nil || len(hs) != 1 || hs[0].Handle() != "keep" {
			t.Errorf("list %v after restart: %v %v, want only keep", filter, hs, err)
		}
	}
	if out := g.tool("", "gdn-run", "list"); strings.Contains(out, `"d1"`) {
		t.Errorf("d1's runtime container survived: %s", out)
	}
	if out := g.tool("", "gdn-net", "list"); strings.Contains(out, `"d1"`) {
		t.Errorf("d1's network survived: %s", out)
	}
	if status, out, _ := run(t, keep, "", "/bin/echo", "alive"); status != 0 || out != "alive\n" {
		t.Errorf("the neighbour suffered: %d %q", status, out)
	}
}

// A container built by hand with the tools in the server's depot is
// complete: the server lists and serves it, before and after a restart,
// and destroys it when asked.
func TestHandBuiltContainerIsServed(t *testing.T) {
	g := startGdn(t)
	depot := filepath.Join(g.dir, "depot")
	created := g.tool("", "gdn-depot", "--depot", depot, "create", "byhand", "--rootfs", g.rootfs,
		"--init-bin", filepath.Join(g.dir, "gdn-init"), "--property", "owner=ops")
	g.tool(created, "gdn-run", "create")
	check := func(when string) {
		t.Helper()
		hs, err := g.client.Containers(nil)
		if err != nil || len(hs) != 1 || hs[0].Handle() != "byhand" {
			t.Fatalf("%s: list = %v %v, want the hand-built container", when, hs, err)
		}
		if hs, _ := g.client.Containers(garden.Properties{"owner": "ops"}); len(hs) != 1 {
			t.Errorf("%s: a property filter misses it: %v", when, hs)
		}
		info, err := hs[0].Info()
		if err != nil || info.State != "active" || info.Properties["owner"] != "ops" {
			t.Errorf("%s: info = %+v %v", when, info, err)
		}
		if status, out, _ := run(t, hs[0], "", "/bin/echo", "served"); status != 0 || out != "served\n" {
			t.Errorf("%s: run = %d %q", when, status, out)
		}
	}
	check("before a restart")
	g.stop(syscall.SIGTERM)
	g.start()
	check("after a restart")
	if err := g.client.Destroy("byhand"); err != nil {
		t.Fatalf("destroy: %v", err)
	}
	if out := g.tool("", "gdn-run", "list"); strings.Contains(out, "byhand") {
		t.Errorf("destroy left the runtime container: %s", out)
	}
	if _, err := g.client.Lookup("byhand"); err == nil {
		t.Error("destroyed container still found")
	}
}

// A second server that would share a running server's socket, image store
// or depot refuses at once, naming the holder, and touches nothing: the
// first one's socket stays served and its volumes stay.
func TestSecondServerRefusesWhatTheFirstOwns(t *testing.T) {
	g := startGdn(t)
	c := g.create(garden.ContainerSpec{Handle: "first"})
	other := t.TempDir()
	store := filepath.Join(g.dir, "store")
	cases := []struct{ what, depot, store, sock string }{
		{"socket " + g.sock, filepath.Join(other, "d1"), filepath.Join(other, "s1"), g.sock},
		{"store " + store, filepath.Join(other, "d2"), store, filepath.Join(other, "s2.sock")},
		{"depot " + filepath.Join(g.dir, "depot"), filepath.Join(g.dir, "depot"), filepath.Join(other, "s3"), filepath.Join(other, "s3.sock")},
	}
	for _, tc := range cases {
		cmd := exec.Command(bin("gdn-server"), "--depot", tc.depot, "--store", tc.store, "--bind-socket", tc.sock,
			"--default-rootfs", g.rootfs, "--network-pool", g.addr("9.0/30"))
		cmd.Env = g.env
		out, err := cmd.CombinedOutput()
		if err == nil {
			t.Fatalf("a second server sharing the %s started", tc.what)
		}
		want := fmt.Sprintf("another gdn-server (pid %d) serves %s", g.cmd.Process.Pid, tc.what)
		if !strings.Contains(string(out), want) {
			t.Errorf("second server's error %q does not say %q", out, want)
		}
	}
	if err := g.client.Ping(); err != nil {
		t.Fatalf("the first server's socket was taken: %v", err)
	}
	if out := g.tool("", "gdn-rootfs", "list"); !strings.Contains(out, "first") {
		t.Errorf("the first server's volume is gone: %s", out)
	}
	if status, _, _ := run(t, c, "", "/bin/true"); status != 0 {
		t.Errorf("the first server's container suffered: %d", status)
	}
}
