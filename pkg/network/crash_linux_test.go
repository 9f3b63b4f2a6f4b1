package network

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/gdn-dev/gdn/pkg/crash"
	"github.com/gdn-dev/gdn/pkg/network/link"
	"github.com/gdn-dev/gdn/pkg/network/nft"
	"github.com/gdn-dev/gdn/pkg/network/port"
	"github.com/gdn-dev/gdn/pkg/network/subnet"
	"github.com/vishvananda/netlink"
)

// helperEnv makes the test binary a one-shot gdn-net: it runs the call
// described in it (JSON, a helperCall) in a process of its own, which
// crash.Point can kill.
const helperEnv = "GDN_NET_TEST_HELPER"

type helperCall struct {
	Op     string // up, down, netin
	Cfg    Config
	Handle string
	Spec   UpSpec
}

func TestMain(m *testing.M) {
	if v := os.Getenv(helperEnv); v != "" {
		os.Exit(runHelper(v))
	}
	os.Exit(m.Run())
}

func runHelper(v string) int {
	var call helperCall
	if err := json.Unmarshal([]byte(v), &call); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	n, err := New(call.Cfg)
	if err == nil {
		ctx := context.Background()
		switch call.Op {
		case "up":
			_, err = n.Up(ctx, call.Handle, call.Spec)
		case "down":
			_, err = n.Down(ctx, call.Handle)
		case "down-detached":
			_, err = n.DownDetached(ctx, call.Handle, reaperArgv(call.Cfg))
		case "reap":
			// The child of a detached down: the draining state is its
			// last argument.
			err = n.Reap(os.Args[len(os.Args)-1])
		case "netin":
			_, err = n.NetIn(call.Handle, 0, 8080)
		default:
			err = fmt.Errorf("op %q", call.Op)
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// reaperArgv makes the test binary the child of a detached down (see
// runHelper's "reap"), with the environment's crash point.
func reaperArgv(cfg Config) []string {
	js, err := json.Marshal(helperCall{Op: "reap", Cfg: cfg})
	if err != nil {
		// (an empty helper variable would have the child run the tests)
		panic(fmt.Sprintf("reaper call: %v", err))
	}
	self, _ := os.Executable()
	return []string{"/usr/bin/env", helperEnv + "=" + string(js), self}
}

// runCrashing runs call in a child process that must die by SIGKILL at
// point.
func runCrashing(t *testing.T, call helperCall, point string) {
	t.Helper()
	js, err := json.Marshal(call)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), helperEnv+"="+string(js), crash.Env+"="+point)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		t.Fatalf("%s %s: not killed at %s (err %v): %s", call.Op, call.Handle, point, err, out)
	}
	if ws, ok := ee.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("%s %s: not killed at %s (%v): %s", call.Op, call.Handle, point, err, out)
	}
}

// TestCrashPoints kills up, down and net-in at every crash point, runs the
// recovery path (cleanup after an up; a second down, and for a down that
// died past its state, cleanup, after a down or net-in), and checks that
// nothing of the container is left, while a neighbour's network keeps
// working. The victim has a dynamic /30 of its own, or shares a static
// subnet with the neighbour (whose bridge and masquerade rule must stay).
func TestCrashPoints(t *testing.T) {
	table := testTable(t, "crash")
	cfg := Config{StateDir: t.TempDir(), Pool: netip.MustParsePrefix("10.253.80.0/28"), Table: table,
		PortStart: 40500, PortSize: 4, ExternalIP: netip.MustParseAddr("192.0.2.1")}
	n := newTestNetworker(t, cfg)
	ctx := context.Background()
	neighbours := map[string]*State{}
	for _, network := range []string{"", "10.253.88.0/24"} {
		h := "neighbour" + fmt.Sprint(len(neighbours))
		st, err := n.Up(ctx, h, UpSpec{Pid: standin(t), Network: network})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _, _ = n.Down(ctx, h) })
		neighbours[network] = st
	}
	victim := standin(t)
	dnsDir := t.TempDir()
	for _, network := range []string{"", "10.253.88.0/24"} {
		for i, point := range CrashPoints {
			name := "dynamic"
			if network != "" {
				name = "static"
			}
			t.Run(name+"/"+point, func(t *testing.T) {
				h := fmt.Sprintf("victim-%s-%d", name, i)
				spec := UpSpec{Pid: victim, Network: network, DNSDir: dnsDir,
					Bandwidth: &link.Bandwidth{Rate: 10 << 20, Burst: 65536}}
				op, _, _ := strings.Cut(strings.TrimPrefix(point, "gdn-net."), ".")
				if op != "up" {
					if _, err := n.Up(ctx, h, spec); err != nil {
						t.Fatal(err)
					}
					if _, err := n.NetIn(h, 0, 80); err != nil {
						t.Fatal(err)
					}
				}
				runCrashing(t, helperCall{Op: op, Cfg: cfg, Handle: h, Spec: spec}, point)
				st, err := n.load(h)
				if err != nil && op == "up" {
					t.Fatalf("no state after up died at %s: %v", point, err)
				}
				if op == "up" {
					if _, err := n.Cleanup(ctx); err != nil {
						t.Fatal(err)
					}
				} else {
					if _, err := n.Down(ctx, h); err != nil {
						t.Fatal(err)
					}
					if point == "gdn-net.down.state" {
						if _, err := n.Cleanup(ctx); err != nil {
							t.Fatal(err)
						}
					}
				}
				if st != nil {
					assertGone(t, n, st, network == "")
				}
				assertNoneOf(t, n, h, victim)
				for _, nb := range neighbours {
					if err := complete(table, nb); err != nil {
						t.Errorf("neighbour %s: %v", nb.Handle, err)
					}
				}
				if removed, err := n.Cleanup(ctx); err != nil || len(removed) > 0 {
					t.Errorf("a cleanup after recovery still found %v (%v)", removed, err)
				}
			})
		}
	}
}

// assertGone checks that nothing st names is left: its devices, chain,
// rules and, if its subnet was its own, the subnet's bridge and rule.
func assertGone(t *testing.T, n *Networker, st *State, ownSubnet bool) {
	t.Helper()
	for _, dev := range []string{st.HostIf, st.Ifb} {
		if _, err := netlink.LinkByName(dev); err == nil && dev != "" {
			t.Errorf("device %s is left", dev)
		}
	}
	if chainExists(n.cfg.Table, st.Chain) || hasJump(n.cfg.Table, st.Chain) {
		t.Errorf("chain %s or a jump to it is left", st.Chain)
	}
	if ownSubnet {
		if _, err := netlink.LinkByName(st.Bridge); err == nil {
			t.Errorf("bridge %s is left", st.Bridge)
		}
		if hasMasquerade(n.cfg.Table, st.Subnet) || chainExists(n.cfg.Table, nft.SubnetChain(st.Subnet)) {
			t.Errorf("masquerade of %s is left", st.Subnet)
		}
	}
	data, _ := os.ReadFile(n.subnetsPath())
	var p subnet.Pool
	_ = json.Unmarshal(data, &p)
	for _, ip := range p.Allocated[st.Subnet] {
		if ip == st.IP {
			t.Errorf("IP %s is still allocated", ip)
		}
	}
	if _, err := os.Stat(filepath.Join(st.DNSDir, "hosts")); st.DNSDir != "" && err == nil {
		t.Errorf("hosts file in %s is left", st.DNSDir)
	}
}

// assertNoneOf checks what names handle h: devices with its alias, rules
// with its comment, its state file, ports of the pool; and that the
// container's namespace holds no device of ours.
func assertNoneOf(t *testing.T, n *Networker, h string, pid int) {
	t.Helper()
	owned, err := link.Owned(n.Owner() + " " + h)
	if err != nil {
		t.Fatal(err)
	}
	if len(owned) > 0 {
		t.Errorf("devices of %s are left: %v", h, owned)
	}
	for _, chain := range []string{"forward", "prerouting", "output", "postrouting", "input"} {
		if got := rulesWith(n.cfg.Table, chain, func(c string) bool { return c == nft.HandleComment(h) }); len(got) > 0 {
			t.Errorf("%d rules of %s are left in %s", len(got), h, chain)
		}
	}
	if _, err := os.Stat(n.statePath(h)); err == nil {
		t.Errorf("state of %s is left", h)
	}
	data, _ := os.ReadFile(n.portsPath())
	var p port.Pool
	if err := json.Unmarshal(data, &p); err == nil && len(p.Free) != int(n.cfg.PortSize) {
		t.Errorf("ports still taken: only %v free", p.Free)
	}
	out, _ := exec.Command("nsenter", "-t", fmt.Sprint(pid), "-n", "ip", "-br", "link").Output()
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if strings.HasPrefix(l, "w") {
			t.Errorf("the container still holds %s", l)
		}
	}
}

func chainExists(table, chain string) bool {
	out, err := exec.Command("nft", "list", "chain", "ip", table, chain).CombinedOutput()
	return err == nil && strings.Contains(string(out), "chain "+chain)
}
