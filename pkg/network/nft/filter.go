package nft

import (
	"net/netip"

	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

// Allow is one translated net-out rule: traffic to [DstFrom, DstTo] (any
// destination when invalid), of protocol Proto (0 = any, or an
// IPPROTO_* number), to ports [PortFrom, PortTo] (tcp and udp only; any
// when both are 0), or of ICMP type ICMPType and code ICMPCode (nil = any) is
// accepted, and logged with LogPrefix when Log is set.
type Allow struct {
	DstFrom, DstTo   netip.Addr
	Proto            uint8
	PortFrom, PortTo uint16
	ICMPType         *uint8
	ICMPCode         *uint8
	Log              bool
	LogPrefix        string
}

// Exprs turns a into the expressions of one nftables rule. Pure: no
// system calls, so the translation is tested without root.
func (a Allow) Exprs() []expr.Any {
	var e []expr.Any
	if a.DstFrom.IsValid() {
		e = append(e,
			&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 16, Len: 4},
			&expr.Range{Op: expr.CmpOpEq, Register: 1, FromData: a.DstFrom.AsSlice(), ToData: a.DstTo.AsSlice()})
	}
	if a.Proto != 0 {
		e = append(e,
			&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{a.Proto}})
	}
	if a.PortFrom != 0 || a.PortTo != 0 { // 0-80 is a range too
		e = append(e,
			&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2},
			&expr.Range{Op: expr.CmpOpEq, Register: 1,
				FromData: binaryutil.BigEndian.PutUint16(a.PortFrom), ToData: binaryutil.BigEndian.PutUint16(a.PortTo)})
	}
	if a.ICMPType != nil {
		e = append(e,
			&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 0, Len: 1},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{*a.ICMPType}})
		if a.ICMPCode != nil {
			e = append(e,
				&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 1, Len: 1},
				&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{*a.ICMPCode}})
		}
	}
	if a.Log {
		e = append(e, &expr.Log{Key: 1 << unix.NFTA_LOG_PREFIX, Data: []byte(a.LogPrefix)})
	}
	return append(e, &expr.Verdict{Kind: expr.VerdictAccept})
}

// dstIn matches destinations inside p.
func dstIn(p netip.Prefix) []expr.Any {
	mask := maskOf(p)
	return []expr.Any{
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 16, Len: 4},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4, Mask: mask, Xor: make([]byte, 4)},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: p.Addr().AsSlice()},
	}
}

// binaryutilNative is a 32-bit value in host byte order, as conntrack
// state bits are compared.
func binaryutilNative(v uint32) []byte { return binaryutil.NativeEndian.PutUint32(v) }
