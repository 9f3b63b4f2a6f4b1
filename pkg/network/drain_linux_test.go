package network

import (
	"context"
	"encoding/json"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/gdn-dev/gdn/pkg/crash"
	"github.com/gdn-dev/gdn/pkg/network/subnet"
	"github.com/vishvananda/netlink"
)

// waitDrained waits until n has no draining state left, and fails t if
// that takes more than drainWait.
func waitDrained(t *testing.T, n *Networker) {
	t.Helper()
	deadline := time.Now().Add(drainWait)
	for len(n.drainingStates()) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("draining states left: %v", n.drainingStates())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestDownDetached: the handle is free and the rules are gone when a
// detached down returns; the devices go in the background, and only then
// are the subnet and IP given back. With a pool of a single subnet, an
// up right after the down waits for the subnet rather than failing.
func TestDownDetached(t *testing.T) {
	table := testTable(t, "detach")
	cfg := Config{StateDir: t.TempDir(), Pool: netip.MustParsePrefix("10.253.96.0/30"), Table: table}
	n := newTestNetworker(t, cfg)
	ctx := context.Background()
	dnsDir := t.TempDir()
	st, err := n.Up(ctx, "d1", UpSpec{Pid: standin(t), DNSDir: dnsDir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = n.Down(ctx, "d1"); _, _ = n.Cleanup(ctx) })
	existed, err := n.DownDetached(ctx, "d1", reaperArgv(cfg))
	if err != nil || !existed {
		t.Fatalf("detached down: %v, existed %v", err, existed)
	}
	// At once: no state, no rules, no DNS files of d1.
	if _, err := os.Stat(n.statePath("d1")); err == nil {
		t.Error("state of d1 outlives the detached down")
	}
	if chainExists(table, st.Chain) {
		t.Errorf("chain %s outlives the detached down", st.Chain)
	}
	if _, err := os.Stat(filepath.Join(dnsDir, "hosts")); err == nil {
		t.Error("hosts file outlives the detached down")
	}
	// The pool's one subnet is still d1's until its devices are gone: an
	// up of another container waits for it.
	st2, err := n.Up(ctx, "d2", UpSpec{Pid: standin(t)})
	if err != nil {
		t.Fatalf("up in a pool whose only subnet was draining: %v", err)
	}
	t.Cleanup(func() { _, _ = n.Down(ctx, "d2") })
	if _, err := netlink.LinkByName(st.HostIf); err == nil {
		t.Errorf("veth %s of d1 still there when d2 got its subnet", st.HostIf)
	}
	if err := complete(table, st2); err != nil {
		t.Errorf("d2's network: %v", err)
	}
	waitDrained(t, n)
	if _, err := n.Down(ctx, "d2"); err != nil {
		t.Fatal(err)
	}
	assertGone(t, n, st2, true)
	assertNoneOf(t, n, "d1", 0)
}

// TestDownDetachedSameHandle: a handle whose detached down is still
// deleting devices can be brought up again at once, and the old devices'
// deletion leaves the new network whole.
func TestDownDetachedSameHandle(t *testing.T) {
	table := testTable(t, "detachsame")
	cfg := Config{StateDir: t.TempDir(), Pool: netip.MustParsePrefix("10.253.96.16/28"), Table: table}
	n := newTestNetworker(t, cfg)
	ctx := context.Background()
	pid := standin(t)
	dnsDir := t.TempDir()
	for i := range 5 {
		st, err := n.Up(ctx, "same", UpSpec{Pid: pid, DNSDir: dnsDir})
		if err != nil {
			t.Fatalf("up %d: %v", i, err)
		}
		if err := complete(table, st); err != nil {
			t.Errorf("up %d: %v", i, err)
		}
		if _, err := n.DownDetached(ctx, "same", reaperArgv(cfg)); err != nil {
			t.Fatalf("down %d: %v", i, err)
		}
	}
	st, err := n.Up(ctx, "same", UpSpec{Pid: pid, DNSDir: dnsDir})
	if err != nil {
		t.Fatal(err)
	}
	waitDrained(t, n)
	if err := complete(table, st); err != nil {
		t.Errorf("after the old devices went: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dnsDir, "hosts")); err != nil {
		t.Errorf("the new network's hosts file: %v", err)
	}
	if _, err := n.Down(ctx, "same"); err != nil {
		t.Fatal(err)
	}
	assertNoneOf(t, n, "same", pid)
	data, _ := os.ReadFile(n.subnetsPath())
	var p subnet.Pool
	_ = json.Unmarshal(data, &p)
	if len(p.Allocated) != 0 {
		t.Errorf("allocations left: %v", p.Allocated)
	}
}

// TestDownDetachedChildKilled: the child dies (SIGKILL) once the devices
// are gone but before the pool is told; cleanup finishes its work.
// Before the devices: covered by the same path, the draining state
// names them.
func TestDownDetachedChildKilled(t *testing.T) {
	table := testTable(t, "detachkill")
	cfg := Config{StateDir: t.TempDir(), Pool: netip.MustParsePrefix("10.253.96.32/28"), Table: table}
	n := newTestNetworker(t, cfg)
	ctx := context.Background()
	st, err := n.Up(ctx, "k", UpSpec{Pid: standin(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv(crash.Env, "gdn-net.down.links")
	if _, err := n.DownDetached(ctx, "k", reaperArgv(cfg)); err != nil {
		t.Fatal(err)
	}
	os.Unsetenv(crash.Env)
	// The child is gone once the busy lock is free: cleanup takes it.
	removed, err := n.Cleanup(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(removed) == 0 {
		t.Error("cleanup found no draining state of the killed child")
	}
	if len(n.drainingStates()) > 0 {
		t.Errorf("draining states left: %v", n.drainingStates())
	}
	assertGone(t, n, st, true)
	assertNoneOf(t, n, "k", 0)
	if out, err := exec.Command("ls", filepath.Join(cfg.StateDir, "draining")).Output(); err == nil && len(out) > 0 {
		t.Errorf("draining dir holds %s", out)
	}
}

// TestReusedIPAnswersAtOnce: in a shared static subnet, whose bridge
// outlives its containers, an IP that another container held a moment
// ago answers its new container at once: the host does not keep sending
// to the old container's MAC.
func TestReusedIPAnswersAtOnce(t *testing.T) {
	table := testTable(t, "reuse")
	cfg := Config{StateDir: t.TempDir(), Pool: netip.MustParsePrefix("10.253.96.64/28"), Table: table}
	n := newTestNetworker(t, cfg)
	ctx := context.Background()
	keeper, err := n.Up(ctx, "keeper", UpSpec{Pid: standin(t), Network: "10.253.97.0/24"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = n.Down(ctx, "keeper") })
	for i, h := range []string{"first", "second"} {
		st, err := n.Up(ctx, h, UpSpec{Pid: standin(t), Network: "10.253.97.9/24"})
		if err != nil {
			t.Fatal(err)
		}
		// One echo, no retry: a stale MAC clears up within seconds.
		if out, err := exec.Command("busybox", "ping", "-c1", "-W2", st.IP.String()).CombinedOutput(); err != nil {
			t.Errorf("container %d on 10.253.97.9: ping: %v: %s", i+1, err, out)
		}
		if _, err := n.Down(ctx, h); err != nil {
			t.Fatal(err)
		}
	}
	if err := complete(table, keeper); err != nil {
		t.Errorf("the subnet's other container: %v", err)
	}
}
