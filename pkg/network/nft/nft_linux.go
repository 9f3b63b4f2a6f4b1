// Package nft keeps gdn's firewall and NAT in one nftables table of its
// own, "gdn" by default (family ip), through netlink: no iptables exec, and each
// operation is one atomic transaction. Every rule and map element carries a
// comment naming what it belongs to ("subnet 10.254.0.4/30", "handle c1"),
// so that `nft list table ip gdn` reads well.
//
// A container has its own chain (c-ID), reached through the jumps map by
// its bridge and address; a subnet has its own masquerade chain
// (s-ADDR-BITS), reached through the masquerades map. Up and down of a
// container add and delete chains and elements by name and key, so they
// cost the same with one container on the host or a thousand; only
// net-in's DNAT rules, in the base chains, are found by listing them.
package nft

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"sync"

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
	// mu guards open, the connections kept open (see conn).
	mu    sync.Mutex
	open  []*nftables.Conn
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
	// jumps maps a container's bridge and address to its chain (one
	// forward rule looks it up); masquerades maps a subnet to its chain
	// of masquerade (one postrouting rule). With the maps, a container's
	// up and down add and delete elements by key and never list what
	// the other containers have: their cost does not grow with them.
	jumps, masquerades *nftables.Set
}

// Names of the table's maps.
const (
	JumpMap       = "jumps"
	MasqueradeMap = "masquerades"
)

// SubnetChainPrefix begins every subnet's chain's name.
const SubnetChainPrefix = "s-"

// SubnetChain is the name of subnet's masquerade chain: s-10.254.0.4-30.
func SubnetChain(subnet netip.Prefix) string {
	return SubnetChainPrefix + subnet.Addr().String() + "-" + strconv.Itoa(subnet.Bits())
}

// subnetOfChain is the subnet whose chain is name, if it is one.
func subnetOfChain(name string) (netip.Prefix, bool) {
	rest, ok := strings.CutPrefix(name, SubnetChainPrefix)
	i := strings.LastIndexByte(rest, '-')
	if !ok || i < 0 {
		return netip.Prefix{}, false
	}
	p, err := netip.ParsePrefix(rest[:i] + "/" + rest[i+1:])
	return p, err == nil && SubnetChain(p) == name
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
		jumps: &nftables.Set{Table: t, Name: JumpMap, IsMap: true, Concatenation: true,
			KeyType: nftables.MustConcatSetType(nftables.TypeIFName, nftables.TypeIPAddr), DataType: nftables.TypeVerdict},
		masquerades: &nftables.Set{Table: t, Name: MasqueradeMap, IsMap: true, Interval: true,
			KeyType: nftables.TypeIPAddr, DataType: nftables.TypeVerdict},
	}
}

// Name is the table's name.
func (t *Table) Name() string { return t.name }

// SubnetComment is the comment of a subnet's rules.
func SubnetComment(subnet netip.Prefix) string { return "subnet " + subnet.String() }

// addMasquerade queues subnet's chain, made or made anew with its one
// rule (so a subnet's later containers change nothing), and its element
// of the masquerades map.
func (t *Table) addMasquerade(c *nftables.Conn, subnet netip.Prefix) error {
	ch := c.AddChain(&nftables.Chain{Name: SubnetChain(subnet), Table: t.table})
	c.FlushChain(ch)
	t.addMasqueradeRule(c, ch, subnet)
	return c.SetAddElements(t.masquerades, subnetElements(subnet))
}

// delMasquerade queues the removal of subnet's chain and element, which
// need not exist (see delChain).
func (t *Table) delMasquerade(c *nftables.Conn, subnet netip.Prefix) error {
	return t.delChain(c, SubnetChain(subnet), t.masquerades, subnetElements(subnet)...)
}

// subnetElements is subnet's interval in the masquerades map: its first
// address maps to a jump to its chain, the address after its last ends
// it (none past 255.255.255.255).
func subnetElements(subnet netip.Prefix) []nftables.SetElement {
	subnet = subnet.Masked()
	els := []nftables.SetElement{{Key: subnet.Addr().AsSlice(),
		VerdictData: &expr.Verdict{Kind: expr.VerdictJump, Chain: SubnetChain(subnet)}, Comment: SubnetComment(subnet)}}
	last := subnet.Addr().As4()
	for i, m := range maskOf(subnet) {
		last[i] |= ^m
	}
	if end := netip.AddrFrom4(last).Next(); end.IsValid() {
		els = append(els, nftables.SetElement{Key: end.AsSlice(), IntervalEnd: true})
	}
	return els
}

// addMasqueradeRule queues the masquerade rule of subnet into ch.
func (t *Table) addMasqueradeRule(c *nftables.Conn, ch *nftables.Chain, subnet netip.Prefix) {
	network := subnet.Addr().AsSlice()
	mask := maskOf(subnet)
	c.AddRule(&nftables.Rule{
		Table: t.table, Chain: ch,
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
	c, err := t.conn()
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
