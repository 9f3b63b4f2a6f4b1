package nft

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"github.com/google/nftables/userdata"
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
func (t *Table) withBase(base Base, more func(c *nftables.Conn, have map[string]bool)) error {
	c, err := conn()
	if err != nil {
		return err
	}
	have, err := t.existing(c)
	if err != nil {
		return err
	}
	t.queueBase(c, have, base)
	if more != nil {
		more(c, have)
	}
	return c.Flush()
}

// queueBase queues the table, chains and base rules that have (see
// existing) lacks.
func (t *Table) queueBase(c *nftables.Conn, have map[string]bool, base Base) {
	c.AddTable(t.table)
	for _, ch := range []*nftables.Chain{t.postrouting, t.prerouting, t.output, t.forward, t.input} {
		c.AddChain(ch)
	}
	if !have[baseComment+" forward"] {
		t.add(c, t.forward, baseComment, established()...)
	}
	wantReject := !base.AllowHostAccess
	if !have[baseComment+" input"] || have[baseComment+" input reject"] != wantReject {
		c.FlushChain(t.input)
		t.addInputRules(c, wantReject)
	}
}

// Up installs everything a new container needs in one transaction: the
// table's base (as Setup) where missing, the masquerade rule of its subnet
// where missing, and its own chain with the jump to it. Reading what
// exists costs no commit; the kernel commits once.
func (t *Table) Up(ct Container, base Base) error {
	err := t.withBase(base, func(c *nftables.Conn, have map[string]bool) {
		if !have[SubnetComment(ct.Subnet)] {
			t.addMasquerade(c, ct.Subnet)
		}
		t.addContainer(c, ct)
	})
	if err != nil {
		return fmt.Errorf("firewall of %q: %w", ct.Handle, err)
	}
	return nil
}

// Down removes a container's rules and chain, and its subnet's masquerade
// rule when subnet is set (the subnet's last container left), in one
// transaction. Absent ones are not an error.
func (t *Table) Down(h, chain string, subnet *netip.Prefix) error {
	drop := map[string]bool{HandleComment(h): true}
	if subnet != nil {
		drop[SubnetComment(*subnet)] = true
	}
	_, err := t.remove(func(name string) bool { return name == chain },
		func(comment string) bool { return drop[comment] })
	if err != nil {
		return fmt.Errorf("remove firewall of %q: %w", h, err)
	}
	return nil
}

// Keep is what Prune leaves: the container chains, handles and subnets
// that some container's state still names.
type Keep struct {
	Chains, Handles map[string]bool
	Subnets         map[netip.Prefix]bool
}

// Prune removes what no state names, in one transaction: container
// chains (named ChainPrefix...), rules commented with a handle or a
// subnet not kept. It returns what it removed ("nft chain c-...",
// "nft rules of handle h", "nft rules of subnet s"), sorted.
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
	})
}

// remove deletes, in one transaction, the chains of the table whose name
// dropChain selects and, in the other chains, the rules whose comment
// dropRule selects. A missing table holds nothing to remove.
func (t *Table) remove(dropChain, dropRule func(string) bool) ([]string, error) {
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
	if len(seen) == 0 {
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
// "gdn base forward", "gdn base input", "gdn base input reject", and each
// subnet's comment. A missing table holds nothing.
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
			if s == baseComment {
				have[baseComment+" "+ch.Name] = true
				for _, e := range r.Exprs {
					if _, ok := e.(*expr.Reject); ok {
						have[baseComment+" "+ch.Name+" reject"] = true
					}
				}
				continue
			}
			have[s] = true
		}
	}
	return have, nil
}
