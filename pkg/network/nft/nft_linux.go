// Package nft keeps gdn's firewall and NAT in one nftables table of its
// own, "gdn" by default (family ip), through netlink: no iptables exec, and each
// operation is one atomic transaction. Every rule carries a comment naming
// what it belongs to ("subnet 10.254.0.4/30", "handle c1"), so that
// `nft list table ip gdn` reads well and removal finds exactly its rules.
package nft

import (
	"fmt"
	"net/netip"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"github.com/google/nftables/userdata"
	"golang.org/x/sys/unix"
)

// DefaultTable is gdn's nftables table (family ip) unless another is
// named (gdn-net --nft-table): separate tables let several gdn-nets, each
// with its own state dir, share a host without touching each other.
const DefaultTable = "gdn"

// Table is one gdn nftables table and its base chains.
type Table struct {
	name  string
	table *nftables.Table
	// postrouting masquerades; prerouting and output (connections the
	// host itself makes to a mapped port) hold net-in's DNAT rules.
	postrouting, prerouting, output *nftables.Chain
	// forward jumps to the containers' chains; input guards the host.
	forward, input *nftables.Chain
	// bridges is the set of this table's bridges, the only ones its
	// input rules match: another table (another gdn instance) sees the
	// same packets at the same hooks, and must not judge them.
	bridges *nftables.Set
}

// BridgeSet names the set of a table's bridges.
const BridgeSet = "bridges"

// New returns table name ("" is DefaultTable). Nothing is made until an
// operation needs it.
func New(name string) *Table {
	if name == "" {
		name = DefaultTable
	}
	t := &nftables.Table{Family: nftables.TableFamilyIPv4, Name: name}
	return &Table{
		name: name, table: t,
		postrouting: &nftables.Chain{Name: "postrouting", Table: t, Type: nftables.ChainTypeNAT,
			Hooknum: nftables.ChainHookPostrouting, Priority: nftables.ChainPriorityNATSource},
		prerouting: &nftables.Chain{Name: "prerouting", Table: t, Type: nftables.ChainTypeNAT,
			Hooknum: nftables.ChainHookPrerouting, Priority: nftables.ChainPriorityNATDest},
		output: &nftables.Chain{Name: "output", Table: t, Type: nftables.ChainTypeNAT,
			Hooknum: nftables.ChainHookOutput, Priority: nftables.ChainPriorityNATDest},
		forward: &nftables.Chain{Name: "forward", Table: t, Type: nftables.ChainTypeFilter,
			Hooknum: nftables.ChainHookForward, Priority: nftables.ChainPriorityFilter},
		input: &nftables.Chain{Name: "input", Table: t, Type: nftables.ChainTypeFilter,
			Hooknum: nftables.ChainHookInput, Priority: nftables.ChainPriorityFilter},
		// (names are host-order strings to nft(8), which so shows them)
		bridges: &nftables.Set{Table: t, Name: BridgeSet, KeyType: nftables.TypeIFName, KeyByteOrder: binaryutil.NativeEndian},
	}
}

// Name is the table's name.
func (t *Table) Name() string { return t.name }

// SubnetComment is the comment of a subnet's rules.
func SubnetComment(subnet netip.Prefix) string { return "subnet " + subnet.String() }

// addMasquerade queues the masquerade rule of subnet.
func (t *Table) addMasquerade(c *nftables.Conn, subnet netip.Prefix) {
	network := subnet.Addr().AsSlice()
	mask := maskOf(subnet)
	c.AddRule(&nftables.Rule{
		Table: t.table, Chain: t.postrouting,
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
		UserData: userdata.AppendString(nil, userdata.TypeComment, SubnetComment(subnet)),
	})
}

func maskOf(p netip.Prefix) []byte {
	m := make([]byte, 4)
	for i := range p.Bits() {
		m[i/8] |= 0x80 >> (i % 8)
	}
	return m
}

// HandleComment is the comment of a container's own rules.
func HandleComment(h string) string { return "handle " + h }

// AddDNAT forwards TCP connections to ext:hostPort, arriving or made by
// the host itself, to container:containerPort, in one transaction. The
// rules carry HandleComment(h).
func (t *Table) AddDNAT(h string, ext netip.Addr, hostPort uint16, container netip.Addr, containerPort uint16) error {
	c, err := conn()
	if err != nil {
		return err
	}
	for _, ch := range []*nftables.Chain{t.prerouting, t.output} {
		c.AddRule(&nftables.Rule{
			Table: t.table, Chain: ch,
			Exprs: []expr.Any{
				&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 16, Len: 4},
				&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: ext.AsSlice()},
				&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
				&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{unix.IPPROTO_TCP}},
				&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2},
				&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binaryutil.BigEndian.PutUint16(hostPort)},
				&expr.Immediate{Register: 1, Data: container.AsSlice()},
				&expr.Immediate{Register: 2, Data: binaryutil.BigEndian.PutUint16(containerPort)},
				&expr.NAT{Type: expr.NATTypeDestNAT, Family: unix.NFPROTO_IPV4, RegAddrMin: 1, RegProtoMin: 2},
			},
			UserData: userdata.AppendString(nil, userdata.TypeComment, HandleComment(h)),
		})
	}
	if err := c.Flush(); err != nil {
		return fmt.Errorf("net-in %d->%s:%d: %w", hostPort, container, containerPort, err)
	}
	return nil
}
