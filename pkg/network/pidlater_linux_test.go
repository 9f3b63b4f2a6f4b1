package network

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
)

// TestUpWithThePidLater: an up whose pid comes later (PidFrom) has made
// what needs no pid (allocation, state, firewall, bridge) by the time it
// asks, and finishes the network once it has the pid.
func TestUpWithThePidLater(t *testing.T) {
	table := testTable(t, "pidlater")
	n := newTestNetworker(t, Config{StateDir: t.TempDir(), Pool: netip.MustParsePrefix("10.253.98.0/30"), Table: table})
	ctx := context.Background()
	pid := standin(t)
	asked, give := make(chan struct{}), make(chan int)
	type result struct {
		st  *State
		err error
	}
	done := make(chan result, 1)
	go func() {
		st, err := n.Up(ctx, "p1", UpSpec{PidFrom: func() (int, error) {
			close(asked)
			return <-give, nil
		}})
		done <- result{st, err}
	}()
	t.Cleanup(func() { _, _ = n.Down(ctx, "p1") })
	select {
	case <-asked:
	case r := <-done:
		t.Fatalf("up ended without asking for the pid: %v", r.err)
	case <-time.After(30 * time.Second):
		t.Fatal("up never asked for the pid")
	}
	st, err := n.Show("p1")
	if err != nil {
		t.Fatalf("no state while waiting for the pid: %v", err)
	}
	if !chainExists(table, st.Chain) || !hasJump(table, st.Chain) || !hasMasquerade(table, st.Subnet) {
		t.Error("the firewall is not made while waiting for the pid")
	}
	if _, err := netlink.LinkByName(st.Bridge); err != nil {
		t.Errorf("the bridge is not made while waiting for the pid: %v", err)
	}
	if _, err := netlink.LinkByName(st.HostIf); err == nil {
		t.Error("a veth before the pid")
	}
	give <- pid
	r := <-done
	if r.err != nil {
		t.Fatal(r.err)
	}
	if err := complete(table, r.st); err != nil {
		t.Fatal(err)
	}
}

// TestUpWhosePidNeverComes: an up that gets no pid (the runtime failed)
// fails and leaves nothing: no devices, rules, state or allocation.
func TestUpWhosePidNeverComes(t *testing.T) {
	table := testTable(t, "nopid")
	n := newTestNetworker(t, Config{StateDir: t.TempDir(), Pool: netip.MustParsePrefix("10.253.99.0/30"), Table: table})
	ctx := context.Background()
	var st *State
	noPid := errors.New("no pid: the container did not start")
	_, err := n.Up(ctx, "p2", UpSpec{DNSDir: t.TempDir(), PidFrom: func() (int, error) {
		st, _ = n.Show("p2")
		return 0, noPid
	}})
	if !errors.Is(err, noPid) {
		t.Fatalf("up without a pid: %v, want %v", err, noPid)
	}
	if st == nil {
		t.Fatal("up asked for the pid before it had made anything")
	}
	assertGone(t, n, st, true)
	assertNoneOf(t, n, "p2", 0)
	if _, err := os.Stat(n.statePath("p2")); err == nil {
		t.Error("state of p2 is left")
	}
	// The pool's only subnet is free again.
	st3, err := n.Up(ctx, "p3", UpSpec{Pid: standin(t)})
	if err != nil {
		t.Fatalf("the subnet of an up that failed is not free: %v", err)
	}
	t.Cleanup(func() { _, _ = n.Down(ctx, "p3") })
	if st3.Subnet != st.Subnet {
		t.Errorf("p3 got %s, want the freed %s", st3.Subnet, st.Subnet)
	}
}
