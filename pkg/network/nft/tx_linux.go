package nft

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"sort"
	"strings"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"github.com/google/nftables/userdata"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// Base is the host-wide part of gdn's firewall.
type Base struct {
	// AllowHostAccess lets containers open connections to the host.
	AllowHostAccess bool
}

// ChainPrefix begins every container chain's name.
const ChainPrefix = "c-"

// Setup makes the table, its base chains, maps and base rules where
// missing, and moves an older gdn-net's per-container jump and
// per-subnet masquerade rules into the maps, in one transaction; run
// again, it changes nothing (but the input chain's rules, when
// base.AllowHostAccess changed).
func (t *Table) Setup(base Base) error {
	if err := t.withBase(base, true, nil); err != nil {
		return fmt.Errorf("set up table %s: %w", t.name, err)
	}
	return nil
}

// withBase runs one transaction: what the table's base lacks, then what
// more adds. With full, the whole table is read (a repair, and the move
// from an older layout). Otherwise a table that has the jumps map, which
// only ever comes with the rest of the base in one transaction, has only
// its input chain read, so that the cost does not grow with the
// containers. Reading costs no commit; the kernel commits once. A
// transaction that finds something gone that it read (another gdn-net
// moving the same older table) is tried again.
func (t *Table) withBase(base Base, full bool, more func(c *nftables.Conn) error) error {
	var err error
	for range removeTries {
		if err = t.withBaseOnce(base, full, more); !errors.Is(err, unix.ENOENT) {
			break
		}
	}
	return err
}

func (t *Table) withBaseOnce(base Base, full bool, more func(c *nftables.Conn) error) error {
	c, err := t.conn()
	if err != nil {
		return err
	}
	var have *contents
	if !full {
		if _, err := c.GetSetByName(t.table, JumpMap); err == nil {
			if have, err = t.existing(c, t.input); err != nil {
				return err
			}
			have.baseComplete = true
		}
	}
	if have == nil {
		if have, err = t.existing(c); err != nil {
			return err
		}
	}
	if err := t.queueBase(c, have, base); err != nil {
		return err
	}
	if more != nil {
		if err := more(c); err != nil {
			return err
		}
	}
	return c.Flush()
}

// queueBase queues the table, chains, sets and base rules that have (see
// existing) lacks, and the move of an older layout's rules into the maps.
func (t *Table) queueBase(c *nftables.Conn, have *contents, base Base) error {
	c.AddTable(t.table)
	for _, ch := range []*nftables.Chain{t.postrouting, t.prerouting, t.output, t.forward, t.input} {
		c.AddChain(ch)
	}
	// (adding a set that exists, with the same type, is no error)
	for _, set := range []*nftables.Set{t.bridges, t.jumps, t.masquerades} {
		if err := c.AddSet(set, nil); err != nil {
			return err
		}
	}
	wantReject := !base.AllowHostAccess
	// (input rules without the set are an older gdn-net's, which matched
	// every instance's bridges by name)
	if !have.is[baseComment+" input set"] || have.is[baseComment+" input reject"] != wantReject {
		c.FlushChain(t.input)
		t.addInputRules(c, wantReject)
	}
	if have.is[baseComment+" input"] && !have.is[baseComment+" input set"] {
		// The table was an older gdn-net's, with no set yet: in goes
		// every bridge its containers' jumps name, so that the new
		// input rules judge the containers that exist already.
		jumps := have.oldJumps
		if _, err := c.GetSetByName(t.table, JumpMap); err == nil {
			now, err := c.GetSetElements(t.jumps)
			if err != nil {
				return err
			}
			jumps = append(jumps, now...)
		}
		var elems []nftables.SetElement
		for _, el := range jumps {
			if len(el.Key) >= unix.IFNAMSIZ {
				elems = append(elems, nftables.SetElement{Key: el.Key[:unix.IFNAMSIZ]})
			}
		}
		if len(elems) > 0 {
			if err := c.SetAddElements(t.bridges, elems); err != nil {
				return err
			}
		}
	}
	if have.baseComplete {
		return nil
	}
	// Forward and postrouting hold only base rules and, in an older
	// layout, per-container jumps and per-subnet masquerades: made anew,
	// those become elements of the maps.
	if !have.is[baseComment+" forward"] || !have.is[baseComment+" forward set"] || len(have.oldJumps) > 0 {
		c.FlushChain(t.forward)
		t.addForwardRules(c)
		if len(have.oldJumps) > 0 {
			if err := c.SetAddElements(t.jumps, have.oldJumps); err != nil {
				return err
			}
		}
	}
	if !have.is[baseComment+" postrouting set"] || len(have.oldSubnets) > 0 {
		c.FlushChain(t.postrouting)
		t.addPostroutingRule(c)
		for _, s := range have.oldSubnets {
			if err := t.addMasquerade(c, s); err != nil {
				return err
			}
		}
	}
	return nil
}

// Up installs everything a new container needs in one transaction: the
// table's base where missing, its subnet's masquerade, its own chain and
// its element of the jumps map (see addContainer).
func (t *Table) Up(ct Container, base Base) error {
	err := t.withBase(base, false, func(c *nftables.Conn) error { return t.addContainer(c, ct) })
	if err != nil {
		return fmt.Errorf("firewall of %q: %w", ct.Handle, err)
	}
	return nil
}

// Leaving is a container whose firewall Down removes.
type Leaving struct {
	Handle, Chain, Bridge string
	IP                    netip.Addr
	Subnet                netip.Prefix
	// LastInSubnet: the subnet's last container leaves, and the
	// subnet's masquerade and bridge (in the set) go too.
	LastInSubnet bool
	// NetIn: the container had net-in mappings, whose DNAT rules in
	// prerouting and output are found by listing those two chains.
	NetIn bool
}

// Down removes a container's chain and element of the jumps map, its
// DNAT rules, and with l.LastInSubnet its subnet's masquerade and bridge,
// in one transaction. Absent ones are not an error. A table of an older
// layout (no jumps map) is read and its rules removed by comment.
func (t *Table) Down(l Leaving) error {
	var err error
	// The transaction deletes what a listing found; another instance of
	// gdn-net changing the table between the two can make an object of
	// it vanish (ENOENT, seen about once in a thousand downs of a 4-way
	// churn): list again and retry.
	for range removeTries {
		if err = t.downOnce(l); !errors.Is(err, unix.ENOENT) {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("remove firewall of %q: %w", l.Handle, err)
	}
	return nil
}

func (t *Table) downOnce(l Leaving) error {
	c, err := t.conn()
	if err != nil {
		return err
	}
	if _, err := c.GetSetByName(t.table, JumpMap); err != nil {
		drop := map[string]bool{HandleComment(l.Handle): true}
		if l.LastInSubnet {
			drop[SubnetComment(l.Subnet)] = true
		}
		_, err := t.remove(func(name string) bool { return name == l.Chain },
			func(comment string) bool { return drop[comment] },
			func(br string) bool { return l.LastInSubnet && br == l.Bridge })
		return err
	}
	if err := t.delContainer(c, l.Handle, l.Bridge, l.IP, l.Chain); err != nil {
		return err
	}
	if l.LastInSubnet {
		if err := t.delMasquerade(c, l.Subnet); err != nil {
			return err
		}
		if err := delElements(c, t.bridges, []nftables.SetElement{{Key: ifname(l.Bridge)}}); err != nil {
			return err
		}
	}
	if l.NetIn {
		for _, ch := range []*nftables.Chain{t.prerouting, t.output} {
			rules, err := c.GetRules(t.table, ch)
			if err != nil {
				return err
			}
			for _, r := range rules {
				if s, _ := userdata.GetString(r.UserData, userdata.TypeComment); s == HandleComment(l.Handle) {
					if err := c.DelRule(r); err != nil {
						return err
					}
				}
			}
		}
	}
	return c.Flush()
}

// removeTries bounds the retries of a transaction that found an object
// gone.
const removeTries = 3

// Keep is what Prune leaves: the container chains, handles, subnets and
// bridges that some container's state still names.
type Keep struct {
	Chains, Handles, Bridges map[string]bool
	Subnets                  map[netip.Prefix]bool
}

// Prune removes what no state names, in one transaction: container
// chains (named ChainPrefix...) and subnet chains (SubnetChainPrefix...)
// with their elements of the maps, rules commented with a handle or a
// subnet not kept, bridges of the set not kept; and puts the bridges
// kept into the set, where missing (a set an older gdn-net did not
// keep, or one emptied by hand). It returns what it
// removed ("nft chain c-...", "nft chain s-...", "nft rules of handle h",
// "nft rules of subnet s" of an older layout, "nft bridge b"), sorted.
func (t *Table) Prune(keep Keep) ([]string, error) {
	keepSubnets := map[string]bool{}
	for s := range keep.Subnets {
		keepSubnets[SubnetChain(s)] = true
	}
	return t.remove(func(name string) bool {
		return strings.HasPrefix(name, ChainPrefix) && !keep.Chains[name] ||
			strings.HasPrefix(name, SubnetChainPrefix) && !keepSubnets[name]
	}, func(comment string) bool {
		if h, ok := strings.CutPrefix(comment, "handle "); ok {
			return !keep.Handles[h]
		}
		if s, ok := strings.CutPrefix(comment, "subnet "); ok {
			p, err := netip.ParsePrefix(s)
			return err == nil && !keep.Subnets[p]
		}
		return false
	}, func(bridge string) bool { return !keep.Bridges[bridge] }, slices.Sorted(maps.Keys(keep.Bridges))...)
}

// remove deletes, in one transaction, the chains of the table whose name
// dropChain selects (and first the elements of the maps that jump to
// them), in the other chains the rules whose comment dropRule selects,
// and the bridges of the set that dropBridge selects. A missing table
// holds nothing to remove.
func (t *Table) remove(dropChain, dropRule, dropBridge func(string) bool, addBridges ...string) ([]string, error) {
	flush := false
	c, err := t.conn()
	if err != nil {
		return nil, err
	}
	chains, err := t.chains(c)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var dropped []*nftables.Chain
	for _, ch := range chains {
		if dropChain(ch.Name) {
			dropped = append(dropped, ch)
			seen["nft chain "+ch.Name] = true
		}
	}
	// What names a dropped chain goes first: the map elements that jump
	// to it and (an older layout's) rules in the base chains.
	if err := t.dropElements(c, dropped); err != nil {
		return nil, err
	}
	for _, ch := range chains {
		if dropChain(ch.Name) || strings.HasPrefix(ch.Name, ChainPrefix) || strings.HasPrefix(ch.Name, SubnetChainPrefix) {
			// A container's or subnet's chain holds only its own
			// rules: it goes whole or stays whole. Not reading each
			// one keeps this from costing a round trip per container.
			continue
		}
		rules, err := c.GetRules(t.table, ch)
		if err != nil {
			return nil, err
		}
		for _, r := range rules {
			if s, _ := userdata.GetString(r.UserData, userdata.TypeComment); dropRule(s) {
				if err := c.DelRule(r); err != nil {
					return nil, err
				}
				seen["nft rules of "+s] = true
			}
		}
	}
	for _, ch := range dropped {
		c.FlushChain(ch)
		c.DelChain(ch)
	}
	if len(chains) > 0 {
		// Only elements that are there: deleting one that is not
		// fails the whole transaction.
		elems, err := c.GetSetElements(t.bridges)
		if err != nil && !errors.Is(err, unix.ENOENT) {
			return nil, err
		}
		if err == nil && len(addBridges) > 0 {
			add := make([]nftables.SetElement, 0, len(addBridges))
			for _, br := range addBridges {
				add = append(add, nftables.SetElement{Key: ifname(br)})
			}
			if err := c.SetAddElements(t.bridges, add); err != nil {
				return nil, err
			}
			// (an element added again is no change, and not reported)
			flush = true
		}
		var del []nftables.SetElement
		for _, e := range elems {
			if name := string(bytes.TrimRight(e.Key, "\x00")); dropBridge(name) {
				del = append(del, nftables.SetElement{Key: e.Key})
				seen["nft bridge "+name] = true
			}
		}
		if len(del) > 0 {
			if err := c.SetDeleteElements(t.bridges, del); err != nil {
				return nil, err
			}
		}
	}
	if len(seen) == 0 && !flush {
		return []string{}, nil
	}
	if err := c.Flush(); err != nil {
		return nil, err
	}
	removed := make([]string, 0, len(seen))
	for s := range seen {
		removed = append(removed, s)
	}
	sort.Strings(removed)
	return removed, nil
}

// chains lists the table's chains (none if it does not exist).
func (t *Table) chains(c *nftables.Conn) ([]*nftables.Chain, error) {
	all, err := c.ListChainsOfTableFamily(nftables.TableFamilyIPv4)
	if err != nil {
		return nil, err
	}
	var out []*nftables.Chain
	for _, ch := range all {
		if ch.Table.Name == t.name {
			out = append(out, ch)
		}
	}
	return out, nil
}

// contents is what existing found in the table.
type contents struct {
	// is holds, by comment and chain: "gdn base forward", "gdn base
	// forward set" (a rule of forward looks a set up), "gdn base input
	// reject", ... and each subnet's and handle's comment.
	is map[string]bool
	// oldJumps are an older layout's per-container jump rules in
	// forward, as elements of the jumps map.
	oldJumps []nftables.SetElement
	// oldSubnets are an older layout's per-subnet masquerade rules in
	// postrouting.
	oldSubnets []netip.Prefix
	// baseComplete: the jumps map exists, and with it the whole base
	// but the input rules, which were read.
	baseComplete bool
}

// existing reads the rules of the given base chains (all the table's
// chains but containers' and subnets' own if none are given). A missing
// table holds nothing.
func (t *Table) existing(c *nftables.Conn, only ...*nftables.Chain) (*contents, error) {
	have := &contents{is: map[string]bool{}}
	chains := only
	if len(only) == 0 {
		all, err := t.chains(c)
		if err != nil {
			return nil, err
		}
		for _, ch := range all {
			if !strings.HasPrefix(ch.Name, ChainPrefix) && !strings.HasPrefix(ch.Name, SubnetChainPrefix) {
				chains = append(chains, ch)
			}
		}
	}
	for _, ch := range chains {
		rules, err := c.GetRules(t.table, ch)
		if errors.Is(err, unix.ENOENT) {
			continue
		}
		if err != nil {
			return nil, err
		}
		for _, r := range rules {
			s, _ := userdata.GetString(r.UserData, userdata.TypeComment)
			if h, ok := strings.CutPrefix(s, "handle "); ok && ch.Name == t.forward.Name {
				if el, ok := oldJump(h, r.Exprs); ok {
					have.oldJumps = append(have.oldJumps, el)
				}
			}
			if sub, ok := strings.CutPrefix(s, "subnet "); ok && ch.Name == t.postrouting.Name {
				if p, err := netip.ParsePrefix(sub); err == nil {
					have.oldSubnets = append(have.oldSubnets, p)
				}
			}
			if s == baseComment {
				have.is[baseComment+" "+ch.Name] = true
				for _, e := range r.Exprs {
					switch e.(type) {
					case *expr.Reject:
						have.is[baseComment+" "+ch.Name+" reject"] = true
					case *expr.Lookup:
						have.is[baseComment+" "+ch.Name+" set"] = true
					}
				}
				continue
			}
			have.is[s] = true
		}
	}
	return have, nil
}

// oldJump turns an older layout's jump rule of container h (iifname ==
// bridge, ip saddr == address, jump chain) into its element of the jumps
// map.
func oldJump(h string, exprs []expr.Any) (nftables.SetElement, bool) {
	var bridge string
	var ip netip.Addr
	var chain string
	for i, e := range exprs {
		switch e := e.(type) {
		case *expr.Meta:
			if cmp, ok := next[*expr.Cmp](exprs, i); ok && e.Key == expr.MetaKeyIIFNAME && cmp.Op == expr.CmpOpEq {
				bridge = string(bytes.TrimRight(cmp.Data, "\x00"))
			}
		case *expr.Payload:
			if cmp, ok := next[*expr.Cmp](exprs, i); ok && e.Base == expr.PayloadBaseNetworkHeader && e.Offset == 12 && e.Len == 4 {
				ip, _ = netip.AddrFromSlice(cmp.Data)
			}
		case *expr.Verdict:
			if e.Kind == expr.VerdictJump {
				chain = e.Chain
			}
		}
	}
	if bridge == "" || !ip.IsValid() || chain == "" {
		return nftables.SetElement{}, false
	}
	return jumpElement(h, bridge, ip, chain), true
}

// next is exprs[i+1] if it is a T.
func next[T expr.Any](exprs []expr.Any, i int) (T, bool) {
	var zero T
	if i+1 >= len(exprs) {
		return zero, false
	}
	e, ok := exprs[i+1].(T)
	return e, ok
}

// dropElements queues the deletion of the map elements that jump to the
// chains about to be dropped: a chain a map element names cannot go.
// Subnet chains' elements are known by their names; containers' are
// found in a listing of the jumps map.
func (t *Table) dropElements(c *nftables.Conn, dropped []*nftables.Chain) error {
	byName := map[string]bool{}
	for _, ch := range dropped {
		if p, ok := subnetOfChain(ch.Name); ok {
			if err := delElements(c, t.masquerades, subnetElements(p)); err != nil {
				return err
			}
			continue
		}
		byName[ch.Name] = true
	}
	if len(byName) == 0 {
		return nil
	}
	// (asked first: the library's listing of elements hides the errno)
	if _, err := c.GetSetByName(t.table, JumpMap); errors.Is(err, unix.ENOENT) {
		return nil // an older layout: no map
	}
	elems, err := c.GetSetElements(t.jumps)
	if err != nil {
		return err
	}
	var del []nftables.SetElement
	for _, e := range elems {
		if byName[verdictChain(e.Val)] {
			del = append(del, nftables.SetElement{Key: e.Key})
		}
	}
	if len(del) == 0 {
		return nil
	}
	return c.SetDeleteElements(t.jumps, del)
}

// verdictChain is the chain a map element's verdict (the nested
// NFTA_VERDICT_* attributes, as the library hands them over) jumps to.
func verdictChain(val []byte) string {
	ad, err := netlink.NewAttributeDecoder(val)
	if err != nil {
		return ""
	}
	for ad.Next() {
		if ad.Type() == unix.NFTA_VERDICT_CHAIN {
			return strings.TrimRight(ad.String(), "\x00")
		}
	}
	return ""
}
