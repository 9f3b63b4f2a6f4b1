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
	"golang.org/x/sys/unix"
)

// Base is the host-wide part of gdn's firewall.
type Base struct {
	// AllowHostAccess lets containers open connections to the host.
	AllowHostAccess bool
}

// ChainPrefix begins every container chain's name.
const ChainPrefix = "c-"

// Setup makes the table, its base chains and their base rules where
// missing, in one transaction; run again, it changes nothing (but the
// input chain's rules, when base.AllowHostAccess changed).
func (t *Table) Setup(base Base) error {
	if err := t.withBase(base, nil); err != nil {
		return fmt.Errorf("set up table %s: %w", t.name, err)
	}
	return nil
}

// withBase runs one transaction: what the table's base lacks (read first,
// which costs no commit), then what more adds.
func (t *Table) withBase(base Base, more func(c *nftables.Conn, have map[string]bool) error) error {
	c, err := conn()
	if err != nil {
		return err
	}
	have, err := t.existing(c)
	if err != nil {
		return err
	}
	if err := t.queueBase(c, have, base); err != nil {
		return err
	}
	if more != nil {
		if err := more(c, have); err != nil {
			return err
		}
	}
	return c.Flush()
}

// queueBase queues the table, chains and base rules that have (see
// existing) lacks.
func (t *Table) queueBase(c *nftables.Conn, have map[string]bool, base Base) error {
	c.AddTable(t.table)
	for _, ch := range []*nftables.Chain{t.postrouting, t.prerouting, t.output, t.forward, t.input} {
		c.AddChain(ch)
	}
	// (adding a set that exists, with the same type, is no error)
	if err := c.AddSet(t.bridges, nil); err != nil {
		return err
	}
	if !have[baseComment+" forward"] {
		t.add(c, t.forward, baseComment, established()...)
	}
	wantReject := !base.AllowHostAccess
	// (input rules without the set are an older gdn-net's, which matched
	// every instance's bridges by name)
	if !have[baseComment+" input set"] || have[baseComment+" input reject"] != wantReject {
		c.FlushChain(t.input)
		t.addInputRules(c, wantReject)
	}
	if have[baseComment+" input"] && !have[baseComment+" input set"] {
		// The table was an older gdn-net's, with no set yet: in goes
		// every bridge its containers' jumps name, so that the new
		// input rules judge the containers that exist already.
		var elems []nftables.SetElement
		for k := range have {
			if name, ok := strings.CutPrefix(k, haveBridge); ok {
				elems = append(elems, nftables.SetElement{Key: ifname(name)})
			}
		}
		if len(elems) > 0 {
			if err := c.SetAddElements(t.bridges, elems); err != nil {
				return err
			}
		}
	}
	return nil
}

// haveBridge begins the keys of existing's answer that name a bridge a
// container's jump comes from.
const haveBridge = "bridge "

// Up installs everything a new container needs in one transaction: the
// table's base (as Setup) where missing, the masquerade rule of its subnet
// where missing, and its own chain with the jump to it. Reading what
// exists costs no commit; the kernel commits once.
func (t *Table) Up(ct Container, base Base) error {
	err := t.withBase(base, func(c *nftables.Conn, have map[string]bool) error {
		if !have[SubnetComment(ct.Subnet)] {
			t.addMasquerade(c, ct.Subnet)
		}
		return t.addContainer(c, ct)
	})
	if err != nil {
		return fmt.Errorf("firewall of %q: %w", ct.Handle, err)
	}
	return nil
}

// Down removes a container's rules and chain and, when subnet is set (the
// subnet's last container left), its subnet's masquerade rule and bridge
// from the set, in one transaction. Absent ones are not an error.
func (t *Table) Down(h, chain string, subnet *netip.Prefix, bridge string) error {
	drop := map[string]bool{HandleComment(h): true}
	if subnet != nil {
		drop[SubnetComment(*subnet)] = true
	}
	var err error
	// The transaction deletes what a listing found; another instance of
	// gdn-net changing the table between the two can make an object of
	// it vanish (ENOENT, seen about once in a thousand downs of a 4-way
	// churn): list again and retry.
	for range removeTries {
		_, err = t.remove(func(name string) bool { return name == chain },
			func(comment string) bool { return drop[comment] },
			func(br string) bool { return subnet != nil && br == bridge })
		if !errors.Is(err, unix.ENOENT) {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("remove firewall of %q: %w", h, err)
	}
	return nil
}

// removeTries bounds Down's retries of a transaction that found an object
// gone.
const removeTries = 3

// Keep is what Prune leaves: the container chains, handles, subnets and
// bridges that some container's state still names.
type Keep struct {
	Chains, Handles, Bridges map[string]bool
	Subnets                  map[netip.Prefix]bool
}

// Prune removes what no state names, in one transaction: container
// chains (named ChainPrefix...), rules commented with a handle or a
// subnet not kept, bridges of the set not kept; and puts the bridges
// kept into the set, where missing (a set an older gdn-net did not
// keep, or one emptied by hand). It returns what it
// removed ("nft chain c-...", "nft rules of handle h", "nft rules of
// subnet s", "nft bridge b"), sorted.
func (t *Table) Prune(keep Keep) ([]string, error) {
	return t.remove(func(name string) bool {
		return strings.HasPrefix(name, ChainPrefix) && !keep.Chains[name]
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
// dropChain selects, in the other chains the rules whose comment dropRule
// selects, and the bridges of the set that dropBridge selects. A missing
// table holds nothing to remove.
func (t *Table) remove(dropChain, dropRule, dropBridge func(string) bool, addBridges ...string) ([]string, error) {
	flush := false
	c, err := conn()
	if err != nil {
		return nil, err
	}
	chains, err := t.chains(c)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for _, ch := range chains {
		if dropChain(ch.Name) {
			c.FlushChain(ch)
			c.DelChain(ch)
			seen["nft chain "+ch.Name] = true
			continue
		}
		if strings.HasPrefix(ch.Name, ChainPrefix) {
			// A container's chain holds only its own rules: it goes
			// whole or stays whole. Not reading each one keeps a down
			// from costing a round trip per container on the host.
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

// existing lists what the table already holds, by comment and chain:
// "gdn base forward", "gdn base input", "gdn base input reject", "gdn
// base input set" (the input rules match the bridge set), each subnet's
// and handle's comment, and haveBridge+name for each bridge a jump to a
// container's chain comes from. A missing table holds nothing.
func (t *Table) existing(c *nftables.Conn) (map[string]bool, error) {
	have := map[string]bool{}
	chains, err := t.chains(c)
	if err != nil {
		return nil, err
	}
	for _, ch := range chains {
		if strings.HasPrefix(ch.Name, ChainPrefix) {
			continue // containers' own chains hold no base or subnet rule
		}
		rules, err := c.GetRules(t.table, ch)
		if err != nil {
			return nil, err
		}
		for _, r := range rules {
			s, _ := userdata.GetString(r.UserData, userdata.TypeComment)
			if ch.Name == t.forward.Name && strings.HasPrefix(s, "handle ") {
				if br := jumpBridge(r.Exprs); br != "" {
					have[haveBridge+br] = true
				}
			}
			if s == baseComment {
				have[baseComment+" "+ch.Name] = true
				for _, e := range r.Exprs {
					switch e.(type) {
					case *expr.Reject:
						have[baseComment+" "+ch.Name+" reject"] = true
					case *expr.Lookup:
						have[baseComment+" "+ch.Name+" set"] = true
					}
				}
				continue
			}
			have[s] = true
		}
	}
	return have, nil
}

// jumpBridge is the bridge a container's jump rule matches (iifname ==),
// or "".
func jumpBridge(exprs []expr.Any) string {
	for i, e := range exprs {
		if m, ok := e.(*expr.Meta); ok && m.Key == expr.MetaKeyIIFNAME && i+1 < len(exprs) {
			if cmp, ok := exprs[i+1].(*expr.Cmp); ok && cmp.Op == expr.CmpOpEq {
				return string(bytes.TrimRight(cmp.Data, "\x00"))
			}
		}
	}
	return ""
}
