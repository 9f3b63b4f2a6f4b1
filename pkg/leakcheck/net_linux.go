package leakcheck

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"github.com/gdn-dev/gdn/pkg/network/nft"
	"github.com/google/nftables"
	"github.com/google/nftables/userdata"
	"github.com/vishvananda/netlink"
)

// baseChains are the chains gdn-net's setup makes in its table
// (pkg/network/nft): they stay for the next container.
// dumpRetries bounds the retries of a link dump that changes under it.
const dumpRetries = 20

var baseChains = map[string]bool{"postrouting": true, "prerouting": true, "output": true, "forward": true, "input": true}

// links reports devices whose alias is the instance's gdn-net's: "gdn-net
// <table>" (a subnet's bridge) or "gdn-net <table> <handle>" (a veth, an
// ifb).
func (c *check) links() error {
	if c.NftTable == "" {
		return nil
	}
	links, err := netlink.LinkList()
	// Another run adding or deleting links meanwhile interrupts the dump:
	// ask again for a consistent one.
	for i := 0; i < dumpRetries && errors.Is(err, netlink.ErrDumpInterrupted); i++ {
		links, err = netlink.LinkList()
	}
	if err != nil {
		return fmt.Errorf("leakcheck: list links: %w", err)
	}
	owner := "gdn-net " + c.NftTable
	for _, l := range links {
		a := l.Attrs()
		switch {
		case a.Alias == owner:
			if !c.liveBridge(a.Name) {
				c.add(KindLink, "", a.Name+" (bridge)")
			}
		case strings.HasPrefix(a.Alias, owner+" "):
			h := strings.TrimPrefix(a.Alias, owner+" ")
			if !c.except[h] {
				c.add(KindLink, h, a.Name)
			}
		}
	}
	return nil
}

func (c *check) liveBridge(name string) bool {
	for _, st := range c.live {
		if st.Bridge == name {
			return true
		}
	}
	return false
}

// nft reports the table's chains beyond the base chains, and rules in
// the base chains commented with a handle ("handle h") or a subnet
// ("subnet s") that no excepted container holds. A missing table holds
// nothing.
func (c *check) nft() error {
	if c.NftTable == "" {
		return nil
	}
	conn, err := nftables.New()
	if err != nil {
		return fmt.Errorf("leakcheck: nftables: %w", err)
	}
	defer conn.CloseLasting()
	chains, err := conn.ListChainsOfTableFamily(nftables.TableFamilyIPv4)
	if err != nil {
		return fmt.Errorf("leakcheck: nft chains: %w", err)
	}
	for _, ch := range chains {
		if ch.Table.Name != c.NftTable {
			continue
		}
		if !baseChains[ch.Name] {
			if !c.liveChain(ch.Name) {
				c.add(KindChain, "", c.NftTable+" "+ch.Name)
			}
			continue
		}
		rules, err := conn.GetRules(ch.Table, ch)
		if err != nil {
			return fmt.Errorf("leakcheck: nft rules of %s: %w", ch.Name, err)
		}
		seen := map[string]bool{}
		for _, r := range rules {
			comment, _ := userdata.GetString(r.UserData, userdata.TypeComment)
			if h, leak := c.ruleLeak(comment); leak && !seen[comment] {
				seen[comment] = true
				c.add(KindRule, h, fmt.Sprintf("%s %s %q", c.NftTable, ch.Name, comment))
			}
		}
	}
	return c.bridgeSet(conn)
}

// bridgeSet reports elements of the table's set of bridges (pkg/network/nft
// BridgeSet, which the input rules match) that no excepted container's
// subnet uses. A table without the set holds none.
func (c *check) bridgeSet(conn *nftables.Conn) error {
	table := &nftables.Table{Family: nftables.TableFamilyIPv4, Name: c.NftTable}
	set, err := conn.GetSetByName(table, nft.BridgeSet)
	if err != nil {
		return nil // no such set (or table)
	}
	elems, err := conn.GetSetElements(set)
	if err != nil {
		return fmt.Errorf("leakcheck: nft set %s: %w", nft.BridgeSet, err)
	}
	for _, e := range elems {
		name := strings.TrimRight(string(e.Key), "\x00")
		if !c.liveBridge(name) {
			c.add(KindSetElement, "", fmt.Sprintf("%s %s %s", c.NftTable, nft.BridgeSet, name))
		}
	}
	return nil
}

// ruleLeak tells whether a base chain's rule, by its comment, belongs to
// no excepted container (and to whom, if a handle).
func (c *check) ruleLeak(comment string) (string, bool) {
	if h, ok := strings.CutPrefix(comment, "handle "); ok {
		return h, !c.except[h]
	}
	if s, ok := strings.CutPrefix(comment, "subnet "); ok {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return "", false
		}
		for _, st := range c.live {
			if st.Subnet == p {
				return "", false
			}
		}
		return "", true
	}
	return "", false
}

// liveChain tells whether name is the chain of an excepted container,
// or of the subnet of one (its masquerade chain, nft.SubnetChain).
func (c *check) liveChain(name string) bool {
	for _, st := range c.live {
		if st.Chain == name || nft.SubnetChain(st.Subnet) == name {
			return true
		}
	}
	return false
}
