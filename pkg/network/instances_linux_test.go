package network

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gdn-dev/gdn/pkg/errkind"
	"github.com/gdn-dev/gdn/pkg/network/link"
	"github.com/gdn-dev/gdn/pkg/network/nft"
	"github.com/vishvananda/netlink"
)

// hostListener answers "hello" to every connection, on all of the host's
// addresses (so on every gateway), until t ends; it returns the port.
func hostListener(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp4", "0.0.0.0:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			_, _ = c.Write([]byte("hello"))
			c.Close()
		}
	}()
	return l.Addr().(*net.TCPAddr).Port
}

// reachesHost tells whether container pid gets the listener's answer at
// addr:port.
func reachesHost(pid int, addr netip.Addr, port int) bool {
	out, _ := exec.Command("nsenter", "-t", fmt.Sprint(pid), "-n", "busybox", "nc", "-w", "2",
		addr.String(), fmt.Sprint(port)).Output()
	return strings.TrimSpace(string(out)) == "hello"
}

// oldRejecter tells whether some table has an older gdn-net's input rule,
// which rejects what comes from any wbrdg-* bridge.
func oldRejecter() bool {
	out, _ := exec.Command("nft", "list", "ruleset").Output()
	return strings.Contains(string(out), `iifname "wbrdg-*" reject`)
}

// TestTwoInstances: two networkers share the host, each with its own
// table, pool and state dir; one lets its containers reach the host, the
// other does not, and neither's rules judge the other's containers. One's
// cleanup and failed ups leave the other's devices, chains and rules be.
func TestTwoInstances(t *testing.T) {
	port := hostListener(t)
	ctx := context.Background()
	tableA, tableB := testTable(t, "insta"), testTable(t, "instb")
	a := newTestNetworker(t, Config{StateDir: t.TempDir(), Pool: netip.MustParsePrefix("10.253.104.0/28"),
		Table: tableA, AllowHostAccess: true})
	b := newTestNetworker(t, Config{StateDir: t.TempDir(), Pool: netip.MustParsePrefix("10.253.108.0/28"),
		Table: tableB})
	// b's table is made first and a's second, and the other way round
	// for their second containers: neither order may matter.
	pids := map[string]int{"a1": standin(t), "a2": standin(t), "b1": standin(t), "b2": standin(t)}
	b1, err := b.Up(ctx, "b1", UpSpec{Pid: pids["b1"], Bandwidth: &link.Bandwidth{Rate: 10 << 20, Burst: 65536}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = b.Down(ctx, "b1") })
	a1, err := a.Up(ctx, "a1", UpSpec{Pid: pids["a1"]})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = a.Down(ctx, "a1") })
	a2, err := a.Up(ctx, "a2", UpSpec{Pid: pids["a2"], Network: "10.253.112.0/24"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = a.Down(ctx, "a2") })
	b2, err := b.Up(ctx, "b2", UpSpec{Pid: pids["b2"], Network: "10.253.116.0/24"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = b.Down(ctx, "b2") })

	unverified := false
	check := func(when string) {
		t.Helper()
		for _, c := range []struct {
			st    *State
			table string
			want  bool
		}{{a1, tableA, true}, {a2, tableA, true}, {b1, tableB, false}, {b2, tableB, false}} {
			if err := complete(c.table, c.st); err != nil {
				t.Errorf("%s: %s: %v", when, c.st.Handle, err)
			}
			got := reachesHost(pids[c.st.Handle], c.st.Gateway, port)
			if got != c.want && c.want && oldRejecter() {
				// Another gdn-net of the old kind (another test run
				// on this host, say) rejects what comes from every
				// wbrdg-* bridge, ours too: what this test is about.
				unverified = true
				continue
			}
			if got != c.want {
				t.Errorf("%s: %s reaches the host at %s: %v, want %v", when, c.st.Handle, c.st.Gateway, got, c.want)
			}
		}
	}
	check("both up")

	// a subnet b uses is not a's to join: a's up fails, and its undoing
	// leaves b's bridge and rules alone
	_, err = a.Up(ctx, "a3", UpSpec{Pid: standin(t), Network: "10.253.116.0/24"})
	if !errors.Is(err, errkind.InvalidSpec) || !errors.Is(err, link.ErrNotOurs) {
		t.Errorf("a's up in b's subnet: %v, want InvalidSpec (another networker's bridge)", err)
	}
	check("after a's up in b's subnet failed")

	// a's container dies; a's cleanup takes its network and nothing of b's
	bBefore := ownedBy(t, b)
	killStandin(t, pids["a1"])
	removed, err := a.Cleanup(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(removed, "network of a1") {
		t.Errorf("a's cleanup: %v, want the network of a1", removed)
	}
	for _, r := range removed {
		if strings.Contains(r, "b1") || strings.Contains(r, "b2") || strings.Contains(r, b2.Bridge) || strings.Contains(r, b1.Bridge) {
			t.Errorf("a's cleanup removed %q of b's", r)
		}
	}
	if got := ownedBy(t, b); got != bBefore {
		t.Errorf("b's devices before a's cleanup %s, after %s", bBefore, got)
	}
	for _, st := range []*State{b1, b2} {
		if !hasJump(tableB, st.Chain) || !chainExists(tableB, st.Chain) {
			t.Errorf("b's rules or chain of %s went with a's cleanup", st.Handle)
		}
	}
	for _, c := range []*State{a2, b1, b2} {
		if err := complete(map[bool]string{true: tableA, false: tableB}[c == a2], c); err != nil {
			t.Errorf("after a's cleanup: %s: %v", c.Handle, err)
		}
	}
	// and b's cleanup, with nothing of its own to do, does nothing
	if removed, err := b.Cleanup(ctx); err != nil || len(removed) > 0 {
		t.Errorf("b's cleanup: %v, %v; want nothing removed", removed, err)
	}
	if err := complete(tableA, a2); err != nil {
		t.Errorf("after b's cleanup: a2: %v", err)
	}
	if unverified {
		t.Skip("host access allowed is unverified: an old gdn-net's table on this host rejects connections from every instance's containers to the host")
	}
}

func killStandin(t *testing.T, pid int) {
	t.Helper()
	_ = exec.Command("kill", fmt.Sprint(pid)).Run()
	// the veth goes with the namespace, once the process is gone
	for range 200 {
		if _, err := os.Stat(fmt.Sprintf("/proc/%d/ns", pid)); err != nil {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// ownedBy lists n's devices, as a string to compare.
func ownedBy(t *testing.T, n *Networker) string {
	t.Helper()
	owned, err := link.Owned(n.Owner())
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for name := range owned {
		if _, err := netlink.LinkByName(name); err == nil {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return fmt.Sprint(names)
}

// TestOlderTableUpgraded: a table an older gdn-net made rejects by bridge
// name prefix and has no bridge set. The next up replaces its input rules
// and puts the existing containers' bridges in the set, so that they are
// still refused the host; cleanup refills a set emptied by hand.
func TestOlderTableUpgraded(t *testing.T) {
	port := hostListener(t)
	ctx := context.Background()
	table := testTable(t, "upgrade")
	n := newTestNetworker(t, Config{StateDir: t.TempDir(), Pool: netip.MustParsePrefix("10.253.120.0/28"), Table: table})
	pa, pb := standin(t), standin(t)
	a, err := n.Up(ctx, "a", UpSpec{Pid: pa})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = n.Down(ctx, "a") })
	// the older form: no set, a prefix match
	nftRun(t, "flush", "chain", "ip", table, "input")
	nftRun(t, "delete", "set", "ip", table, nft.BridgeSet)
	nftRun(t, "add", "rule", "ip", table, "input", "iifname", `"wbrdg-*"`, "ct", "state", "established,related", "accept", "comment", `"gdn base"`)
	b, err := n.Up(ctx, "b", UpSpec{Pid: pb})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = n.Down(ctx, "b") })
	out, _ := exec.Command("nft", "list", "table", "ip", table).Output()
	if strings.Contains(string(out), `"wbrdg-*"`) {
		t.Errorf("the older input rules are still there:\n%s", out)
	}
	set, _ := exec.Command("nft", "list", "set", "ip", table, nft.BridgeSet).Output()
	for _, st := range []*State{a, b} {
		if !strings.Contains(string(set), `"`+st.Bridge+`"`) {
			t.Errorf("bridge %s of %s is not in the set:\n%s", st.Bridge, st.Handle, set)
		}
	}
	if reachesHost(pa, a.Gateway, port) || reachesHost(pb, b.Gateway, port) {
		t.Error("a container reaches the host")
	}
	nftRun(t, "flush", "set", "ip", table, nft.BridgeSet)
	if _, err := n.Cleanup(ctx); err != nil {
		t.Fatal(err)
	}
	out, _ = exec.Command("nft", "list", "set", "ip", table, nft.BridgeSet).Output()
	for _, st := range []*State{a, b} {
		if !strings.Contains(string(out), `"`+st.Bridge+`"`) {
			t.Errorf("after cleanup, bridge %s of %s is not in the set:\n%s", st.Bridge, st.Handle, out)
		}
	}
	if reachesHost(pa, a.Gateway, port) {
		t.Error("after cleanup, a reaches the host")
	}
}

// TestOlderLayoutMovedIntoMaps: a table an older gdn-net made has a jump
// rule per container in forward and a masquerade rule per subnet in
// postrouting. The next up moves them into the jumps and masquerades
// maps (forward and postrouting then hold only their base rules), the
// older container keeps working, and its down leaves nothing of it.
func TestOlderLayoutMovedIntoMaps(t *testing.T) {
	ctx := context.Background()
	table := testTable(t, "layout")
	n := newTestNetworker(t, Config{StateDir: t.TempDir(), Pool: netip.MustParsePrefix("10.253.124.0/28"), Table: table})
	a, err := n.Up(ctx, "a", UpSpec{Pid: standin(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = n.Down(ctx, "a") })
	// a's firewall as the older layout had it, and no maps
	sub := a.Subnet.String()
	nftRun(t, "flush", "chain", "ip", table, "forward")
	nftRun(t, "flush", "chain", "ip", table, "postrouting")
	nftRun(t, "flush", "map", "ip", table, nft.JumpMap)
	nftRun(t, "flush", "map", "ip", table, nft.MasqueradeMap)
	nftRun(t, "delete", "map", "ip", table, nft.JumpMap)
	nftRun(t, "delete", "map", "ip", table, nft.MasqueradeMap)
	nftRun(t, "delete", "chain", "ip", table, nft.SubnetChain(a.Subnet))
	nftRun(t, "add", "rule", "ip", table, "forward", "ct", "state", "established,related", "accept", "comment", `"gdn base"`)
	nftRun(t, "add", "rule", "ip", table, "forward", "iifname", `"`+a.Bridge+`"`, "ip", "saddr", a.IP.String(), "jump", a.Chain, "comment", `"handle a"`)
	nftRun(t, "add", "rule", "ip", table, "postrouting", "ip", "saddr", sub, "ip", "daddr", "!=", sub, "masquerade", "comment", `"subnet `+sub+`"`)

	b, err := n.Up(ctx, "b", UpSpec{Pid: standin(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = n.Down(ctx, "b") })
	for _, st := range []*State{a, b} {
		if err := complete(table, st); err != nil {
			t.Errorf("%s after the move: %v", st.Handle, err)
		}
	}
	for chain, want := range map[string]int{"forward": 2, "postrouting": 1} {
		if got := rulesWith(table, chain, func(string) bool { return true }); len(got) != want {
			t.Errorf("%s holds %d rules %q, want its %d base rules", chain, len(got), got, want)
		}
	}
	if _, err := n.Down(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	assertGone(t, n, a, true)
	if err := complete(table, b); err != nil {
		t.Errorf("b after a's down: %v", err)
	}
}

// nftRun runs nft(8) with args, which must succeed.
func nftRun(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command("nft", args...).CombinedOutput(); err != nil {
		t.Fatalf("nft %v: %v: %s", args, err, out)
	}
}
