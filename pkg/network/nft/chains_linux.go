package nft

import (
	"fmt"
	"net/netip"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"github.com/google/nftables/userdata"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// baseComment marks the rules Setup owns.
const baseComment = "gdn base"

// addInputRules adds the input chain's rules: for traffic from this
// table's bridges (the set, which Up and Down keep), replies pass and DNS
// to the host passes; with reject, all else is rejected. Every rule has a
// marker (the base comment) so that Up can tell the current setting.
func (t *Table) addInputRules(c *nftables.Conn, reject bool) {
	bridges := func() []expr.Any {
		return []expr.Any{
			&expr.Meta{Key: expr.MetaKeyIIFNAME, Register: 1},
			&expr.Lookup{SourceRegister: 1, SetName: t.bridges.Name, SetID: t.bridges.ID},
		}
	}
	t.add(c, t.input, baseComment, append(bridges(), established()...)...)
	if !reject {
		return
	}
	// DNS to a resolver on the host (the gateway stands in for a host
	// resolver on 127.0.0.x, reference §5.7).
	for _, proto := range []byte{unix.IPPROTO_UDP, unix.IPPROTO_TCP} {
		t.add(c, t.input, baseComment, append(bridges(),
			&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{proto}},
			&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{0, 53}},
			&expr.Verdict{Kind: expr.VerdictAccept})...)
	}
	t.add(c, t.input, baseComment, append(bridges(), rejectExpr())...)
}

// Container describes one container's outbound policy.
type Container struct {
	Handle, Chain, Bridge string
	IP                    netip.Addr
	Subnet                netip.Prefix
	Deny                  []netip.Prefix
	Allows                []Allow
}

// addContainer queues the container's chain (made anew, so an up run
// again is no harm) with its rules, its element of the jumps map, its
// subnet's masquerade, and its bridge into the table's set (adding an
// element that is there is no error).
func (t *Table) addContainer(c *nftables.Conn, ct Container) error {
	if err := c.SetAddElements(t.bridges, []nftables.SetElement{{Key: ifname(ct.Bridge)}}); err != nil {
		return err
	}
	if err := t.addMasquerade(c, ct.Subnet); err != nil {
		return err
	}
	ch := c.AddChain(&nftables.Chain{Name: ct.Chain, Table: t.table})
	c.FlushChain(ch)
	comment := HandleComment(ct.Handle)
	t.add(c, ch, comment, append(dstIn(ct.Subnet), &expr.Verdict{Kind: expr.VerdictAccept})...)
	for _, a := range ct.Allows {
		t.add(c, ch, comment, a.Exprs()...)
	}
	for _, d := range ct.Deny {
		t.add(c, ch, comment, append(dstIn(d), rejectExpr())...)
	}
	return c.SetAddElements(t.jumps, []nftables.SetElement{jumpElement(ct.Handle, ct.Bridge, ct.IP, ct.Chain)})
}

// delContainer queues the removal of a container's element of the jumps
// map and its chain, which need not exist (see delChain).
func (t *Table) delContainer(c *nftables.Conn, h, bridge string, ip netip.Addr, chain string) error {
	return t.delChain(c, chain, t.jumps, jumpElement(h, bridge, ip, chain))
}

// delChain queues the removal of chain and of els, the elements of set
// that jump to it. Neither need exist: both are added first, in the same
// transaction.
func (t *Table) delChain(c *nftables.Conn, chain string, set *nftables.Set, els ...nftables.SetElement) error {
	ch := c.AddChain(&nftables.Chain{Name: chain, Table: t.table})
	if err := delElements(c, set, els); err != nil {
		return err
	}
	c.FlushChain(ch)
	c.DelChain(ch)
	return nil
}

// delElements queues the deletion of els from set, which need not hold
// them: deleting what is not there fails the whole transaction, so they
// are added first.
func delElements(c *nftables.Conn, set *nftables.Set, els []nftables.SetElement) error {
	if err := c.SetAddElements(set, els); err != nil {
		return err
	}
	return c.SetDeleteElements(set, els)
}

// jumpElement is a container's element of the jumps map: traffic that
// comes in from its bridge with its address goes to its chain.
func jumpElement(h, bridge string, ip netip.Addr, chain string) nftables.SetElement {
	return nftables.SetElement{Key: append(ifname(bridge), ip.AsSlice()...),
		VerdictData: &expr.Verdict{Kind: expr.VerdictJump, Chain: chain}, Comment: HandleComment(h)}
}

// addForwardRules adds the forward chain's rules: replies pass, the rest
// goes to the chain of the container it comes from (the jumps map, by
// input bridge and source address).
func (t *Table) addForwardRules(c *nftables.Conn) {
	t.add(c, t.forward, baseComment, established()...)
	t.add(c, t.forward, baseComment,
		&expr.Meta{Key: expr.MetaKeyIIFNAME, Register: 1},
		// (a concatenation is laid out in 32-bit registers: the 16
		// bytes of a name fill 8 to 11, the address goes to 12)
		&expr.Payload{DestRegister: 12, Base: expr.PayloadBaseNetworkHeader, Offset: 12, Len: 4},
		&expr.Lookup{SourceRegister: 1, SetName: t.jumps.Name, SetID: t.jumps.ID, IsDestRegSet: true, DestRegister: 0})
}

// addPostroutingRule adds the postrouting chain's rule: traffic from a
// subnet goes to the subnet's chain (the masquerades map).
func (t *Table) addPostroutingRule(c *nftables.Conn) {
	t.add(c, t.postrouting, baseComment,
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 12, Len: 4},
		&expr.Lookup{SourceRegister: 1, SetName: t.masquerades.Name, SetID: t.masquerades.ID, IsDestRegSet: true, DestRegister: 0})
}

// AddAllows puts net-out rules at the head of a container's chain, all
// in one transaction (3000 rules are one netlink batch).
func (t *Table) AddAllows(h, chain string, allows []Allow) error {
	c, err := t.conn()
	if err != nil {
		return err
	}
	ch := &nftables.Chain{Name: chain, Table: t.table}
	for _, a := range allows {
		c.InsertRule(&nftables.Rule{Table: t.table, Chain: ch, Exprs: a.Exprs(),
			UserData: userdata.AppendString(nil, userdata.TypeComment, HandleComment(h))})
	}
	if err := c.Flush(); err != nil {
		return fmt.Errorf("net-out for %q: %w", h, err)
	}
	return nil
}

func (t *Table) add(c *nftables.Conn, ch *nftables.Chain, comment string, exprs ...expr.Any) {
	c.AddRule(&nftables.Rule{Table: t.table, Chain: ch, Exprs: exprs,
		UserData: userdata.AppendString(nil, userdata.TypeComment, comment)})
}

func established() []expr.Any {
	return []expr.Any{
		&expr.Ct{Register: 1, Key: expr.CtKeySTATE},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4,
			Mask: binaryutilNative(expr.CtStateBitESTABLISHED | expr.CtStateBitRELATED), Xor: make([]byte, 4)},
		&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: make([]byte, 4)},
		&expr.Verdict{Kind: expr.VerdictAccept},
	}
}

// rejectExpr answers with ICMP host-prohibited, as Guardian's REJECT does.
func rejectExpr() expr.Any {
	return &expr.Reject{Type: unix.NFT_REJECT_ICMP_UNREACH, Code: 10}
}

// ifname is an interface name as the kernel compares it: NUL-padded.
func ifname(name string) []byte {
	b := make([]byte, 16)
	copy(b, name)
	return b
}

// batchBuffer bounds one transaction: the kernel refuses a netlink message
// larger than the socket's send buffer, and 3000 rules are about 1 MiB.
const batchBuffer = 32 << 20

// keptConns bounds the connections a Table keeps open (see conn): a
// gdn-net process makes one or two, a test process many.
const keptConns = 8

// conn opens a netlink connection to nftables for one operation, whose
// buffers hold a big transaction: the send buffer its batch, the receive
// buffer the kernel's acknowledgement of every message in it.
//
// The socket stays open after the operation, until the process exits (or
// keptConns later ones). Closing an nftables socket waits, in the kernel,
// for the release of every committed transaction's objects, which waits
// for an RCU grace period (7-9 ms here) whenever any transaction, this
// process's or another's, committed within one: a close right after the
// commit put that wait into every up and down. At exit, the work done
// after the commit has usually outlasted it.
func (t *Table) conn() (*nftables.Conn, error) {
	c, err := nftables.New(nftables.AsLasting(), nftables.WithSockOptions(bigBuffers))
	if err != nil {
		return nil, err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.open = append(t.open, c)
	if len(t.open) > keptConns {
		_ = t.open[0].CloseLasting()
		t.open = t.open[1:]
	}
	return c, nil
}

// bigBuffers raises the socket's buffers past net.core.[rw]mem_max
// (SO_SNDBUFFORCE and SO_RCVBUFFORCE, as root), so that a bulk net-out
// stays one transaction.
func bigBuffers(c *netlink.Conn) error {
	rc, err := c.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	err = rc.Control(func(fd uintptr) {
		for _, opt := range []int{unix.SO_SNDBUFFORCE, unix.SO_RCVBUFFORCE} {
			if e := unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, opt, batchBuffer); e != nil {
				serr = e
			}
		}
	})
	if err != nil {
		return err
	}
	return serr
}
