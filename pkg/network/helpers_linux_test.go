package network

import (
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gdn-dev/gdn/pkg/network/link"
	"github.com/gdn-dev/gdn/pkg/network/nft"
	"github.com/gdn-dev/gdn/pkg/testutil"
	"github.com/google/nftables"
	"github.com/google/nftables/userdata"
	"github.com/vishvananda/netlink"
)

// standin starts a process in a network namespace of its own, a stand-in
// container, and returns its pid; it is killed when t ends.
func standin(t *testing.T) int {
	t.Helper()
	cmd := exec.Command("unshare", "-n", "sleep", "600")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	self, _ := os.Readlink("/proc/self/ns/net")
	for range 200 {
		// unshare has made the namespace once the process's differs
		// from ours (and it is sleep by then, or about to be).
		if ns, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/net", cmd.Process.Pid)); err == nil && ns != self {
			return cmd.Process.Pid
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatal("stand-in container: no namespace of its own")
	return 0
}

// testTable is an nftables table name of this test run's own, deleted
// when t ends.
func testTable(t *testing.T, name string) string {
	t.Helper()
	table := fmt.Sprintf("gdngotest_%s_%d", name, os.Getpid())
	t.Cleanup(func() {
		_ = exec.Command("nft", "delete", "table", "ip", table).Run()
		// devices a failing run left behind (they carry the table's name)
		if owned, err := link.Owned("gdn-net " + table); err == nil {
			for name := range owned {
				_ = link.Delete(name, "gdn-net "+table)
			}
		}
	})
	return table
}

func newTestNetworker(t *testing.T, cfg Config) *Networker {
	t.Helper()
	testutil.RequireRoot(t)
	n, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// complete returns why st's network is not whole, or nil: the bridge
// holds the gateway address, the host end of the veth is up on the
// bridge, the subnet's masquerade rule is in the table, and the
// container's IP answers a ping from the host.
func complete(table string, st *State) error {
	br, err := netlink.LinkByName(st.Bridge)
	if err != nil {
		return fmt.Errorf("bridge %s: %v", st.Bridge, err)
	}
	// (link.AddrList asks again when links change meanwhile, here or in
	// another test run on the host, which interrupts the dump)
	addrs, err := link.AddrList(br)
	if err != nil {
		return err
	}
	gw := false
	for _, a := range addrs {
		if ip, ok := netip.AddrFromSlice(a.IP.To4()); ok && ip == st.Gateway {
			gw = true
		}
	}
	if !gw {
		return fmt.Errorf("bridge %s lacks the gateway %s", st.Bridge, st.Gateway)
	}
	veth, err := netlink.LinkByName(st.HostIf)
	if err != nil {
		return fmt.Errorf("veth %s: %v", st.HostIf, err)
	}
	if veth.Attrs().MasterIndex != br.Attrs().Index {
		return fmt.Errorf("veth %s: master %d, not the bridge %d", st.HostIf, veth.Attrs().MasterIndex, br.Attrs().Index)
	}
	for _, dev := range []string{st.Bridge, st.HostIf} {
		if b, err := os.ReadFile("/proc/sys/net/ipv6/conf/" + dev + "/disable_ipv6"); err == nil && strings.TrimSpace(string(b)) != "1" {
			return fmt.Errorf("%s has IPv6 on", dev)
		}
	}
	if !hasMasquerade(table, st.Subnet) {
		return fmt.Errorf("no masquerade of %s", st.Subnet)
	}
	if !hasJump(table, st.Chain) {
		return fmt.Errorf("no jump to %s", st.Chain)
	}
	// One more try for a first echo lost on a loaded machine (1 in 200
	// seen); TestReusedIPAnswersAtOnce pings only once.
	ping := func() ([]byte, error) {
		return exec.Command("busybox", "ping", "-c1", "-W2", st.IP.String()).CombinedOutput()
	}
	out, err := ping()
	if err != nil {
		out, err = ping()
	}
	if err != nil {
		return fmt.Errorf("ping %s: %v: %s", st.IP, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// hasMasquerade tells whether subnet's chain holds its masquerade rule
// and the masquerades map jumps to it.
func hasMasquerade(table string, subnet netip.Prefix) bool {
	return hasRule(table, nft.SubnetChain(subnet), nft.SubnetComment(subnet)) &&
		mapJumpsTo(table, nft.MasqueradeMap, nft.SubnetChain(subnet))
}

// hasJump tells whether the jumps map sends traffic to chain.
func hasJump(table, chain string) bool { return mapJumpsTo(table, nft.JumpMap, chain) }

// mapJumpsTo tells whether an element of map m jumps to chain.
func mapJumpsTo(table, m, chain string) bool {
	out, _ := exec.Command("nft", "list", "map", "ip", table, m).Output()
	return regexp.MustCompile(`: jump ` + regexp.QuoteMeta(chain) + `\b`).Match(out)
}

// hasRule tells whether a rule with comment is in chain of table.
func hasRule(table, chain, comment string) bool {
	return len(rulesWith(table, chain, func(c string) bool { return c == comment })) > 0
}

// rulesWith lists the comments of chain's rules that match.
func rulesWith(table, chain string, match func(string) bool) []string {
	c, err := nftables.New()
	if err != nil {
		return nil
	}
	rules, err := c.GetRules(&nftables.Table{Family: nftables.TableFamilyIPv4, Name: table}, &nftables.Chain{Name: chain})
	if err != nil {
		return nil
	}
	var out []string
	for _, r := range rules {
		if s, _ := userdata.GetString(r.UserData, userdata.TypeComment); match(s) {
			out = append(out, s)
		}
	}
	return out
}
