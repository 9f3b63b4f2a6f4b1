// Package nft keeps gdn's firewall and NAT in one nftables table of its
// own, "gdn" (family ip), through netlink: no iptables exec, and each
// operation is one atomic transaction. Every rule carries a comment naming
// what it belongs to ("subnet 10.254.0.4/30", "handle c1"), so that
// `nft list table ip gdn` reads well and removal finds exactly its rules.
package nft

import (
	"fmt"
	"net/netip"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"github.com/google/nftables/userdata"
)

// TableName is gdn's nftables table (family ip).
const TableName = "gdn"

var table = &nftables.Table{Family: nftables.TableFamilyIPv4, Name: TableName}

var postrouting = &nftables.Chain{
	Name: "postrouting", Table: table, Type: nftables.ChainTypeNAT,
	Hooknum: nftables.ChainHookPostrouting, Priority: nftables.ChainPriorityNATSource,
}

// Setup creates the table and its chains if missing (idempotent).
func Setup() error {
	c, err := nftables.New()
	if err != nil {
		return err
	}
	c.AddTable(table)
	c.AddChain(postrouting)
	if err := c.Flush(); err != nil {
		return fmt.Errorf("nftables setup: %w", err)
	}
	return nil
}

// SubnetComment is the comment of a subnet's rules.
func SubnetComment(subnet netip.Prefix) string { return "subnet " + subnet.String() }

// AddMasquerade masquerades traffic from subnet to anywhere outside it,
// unless a rule for the subnet exists. Call Setup first.
func AddMasquerade(subnet netip.Prefix) error {
	c, err := nftables.New()
	if err != nil {
		return err
	}
	comment := SubnetComment(subnet)
	rules, err := c.GetRules(table, postrouting)
	if err != nil {
		return fmt.Errorf("list nat rules: %w", err)
	}
	for _, r := range rules {
		if s, _ := userdata.GetString(r.UserData, userdata.TypeComment); s == comment {
			return nil
		}
	}
	network := subnet.Addr().AsSlice()
	mask := maskOf(subnet)
	c.AddRule(&nftables.Rule{
		Table: table, Chain: postrouting,
		Exprs: []expr.Any{
			// ip saddr & mask == network
			&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 12, Len: 4},
			&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4, Mask: mask, Xor: make([]byte, 4)},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: network},
			// ip daddr & mask != network
			&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 16, Len: 4},
			&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4, Mask: mask, Xor: make([]byte, 4)},
			&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: network},
			&expr.Masq{},
		},
		UserData: userdata.AppendString(nil, userdata.TypeComment, comment),
	})
	if err := c.Flush(); err != nil {
		return fmt.Errorf("add masquerade for %s: %w", subnet, err)
	}
	return nil
}

// DeleteByComment removes, in one transaction, every rule of the table
// whose comment is comment. A missing table is not an error.
func DeleteByComment(comment string) error {
	c, err := nftables.New()
	if err != nil {
		return err
	}
	chains, err := c.ListChainsOfTableFamily(nftables.TableFamilyIPv4)
	if err != nil {
		return err
	}
	n := 0
	for _, ch := range chains {
		if ch.Table.Name != TableName {
			continue
		}
		rules, err := c.GetRules(table, ch)
		if err != nil {
			return err
		}
		for _, r := range rules {
			if s, _ := userdata.GetString(r.UserData, userdata.TypeComment); s == comment {
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
		return fmt.Errorf("delete rules %q: %w", comment, err)
	}
	return nil
}

func maskOf(p netip.Prefix) []byte {
	m := make([]byte, 4)
	for i := range p.Bits() {
		m[i/8] |= 0x80 >> (i % 8)
	}
	return m
}
