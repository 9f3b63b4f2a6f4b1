package nft

import (
	"fmt"
	"net/netip"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"github.com/google/nftables/userdata"
)

// Base is the host-wide part of gdn's firewall.
type Base struct {
	// AllowHostAccess lets containers open connections to the host.
	AllowHostAccess bool
}

// Up installs everything a new container needs in one transaction: gdn's
// table and chains and their base rules where missing, the masquerade
// rule of its subnet where missing, and its own chain with the jump to it.
// Reading what exists costs no commit; the kernel commits once.
func Up(ct Container, base Base) error {
	c, err := conn()
	if err != nil {
		return err
	}
	have, err := existing(c)
	if err != nil {
		return err
	}
	c.AddTable(table)
	for _, ch := range []*nftables.Chain{postrouting, prerouting, output, forward, input} {
		c.AddChain(ch)
	}
	if !have[baseComment+" forward"] {
		add(c, forward, baseComment, established()...)
	}
	wantReject := !base.AllowHostAccess
	if !have[baseComment+" input"] || have[baseComment+" input reject"] != wantReject {
		c.FlushChain(input)
		addInputRules(c, wantReject)
	}
	if !have[SubnetComment(ct.Subnet)] {
		addMasquerade(c, ct.Subnet)
	}
	addContainer(c, ct)
	if err := c.Flush(); err != nil {
		return fmt.Errorf("firewall of %q: %w", ct.Handle, err)
	}
	return nil
}

// Down removes a container's rules and chain, and its subnet's masquerade
// rule when subnet is set (the subnet's last container left), in one
// transaction. Absent ones are not an error.
func Down(h, chain string, subnet *netip.Prefix) error {
	c, err := conn()
	if err != nil {
		return err
	}
	chains, err := c.ListChainsOfTableFamily(nftables.TableFamilyIPv4)
	if err != nil {
		return err
	}
	drop := map[string]bool{HandleComment(h): true}
	if subnet != nil {
		drop[SubnetComment(*subnet)] = true
	}
	n := 0
	for _, ch := range chains {
		if ch.Table.Name != TableName {
			continue
		}
		if ch.Name == chain {
			c.FlushChain(ch)
			c.DelChain(ch)
			n++
			continue
		}
		rules, err := c.GetRules(table, ch)
		if err != nil {
			return err
		}
		for _, r := range rules {
			if s, _ := userdata.GetString(r.UserData, userdata.TypeComment); drop[s] {
				if err := c.DelRule(r); err != nil {
					return err
				}
				n++
			}
		}
	}
	if n == 0 {
		return nil
	}
	if err := c.Flush(); err != nil {
		return fmt.Errorf("remove firewall of %q: %w", h, err)
	}
	return nil
}

// existing lists what gdn's table already holds, by comment and chain:
// "gdn base forward", "gdn base input", "gdn base input reject", and each
// subnet's comment. A missing table holds nothing.
func existing(c *nftables.Conn) (map[string]bool, error) {
	have := map[string]bool{}
	chains, err := c.ListChainsOfTableFamily(nftables.TableFamilyIPv4)
	if err != nil {
		return nil, err
	}
	for _, ch := range chains {
		if ch.Table.Name != TableName {
			continue
		}
		rules, err := c.GetRules(table, ch)
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
