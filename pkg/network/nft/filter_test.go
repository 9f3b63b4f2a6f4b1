package nft

import (
	"net/netip"
	"reflect"
	"testing"

	"github.com/google/nftables/expr"
)

func TestAllowExprs(t *testing.T) {
	icmpType, icmpCode := uint8(8), uint8(0)
	cases := []struct {
		name  string
		allow Allow
		want  []expr.Any
	}{
		{name: "anything", allow: Allow{}, want: []expr.Any{&expr.Verdict{Kind: expr.VerdictAccept}}},
		{
			name: "tcp to a range and ports, logged",
			allow: Allow{DstFrom: netip.MustParseAddr("10.0.0.1"), DstTo: netip.MustParseAddr("10.0.0.9"),
				Proto: 6, PortFrom: 80, PortTo: 90, Log: true, LogPrefix: "h1 "},
			want: []expr.Any{
				&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 16, Len: 4},
				&expr.Range{Op: expr.CmpOpEq, Register: 1, FromData: []byte{10, 0, 0, 1}, ToData: []byte{10, 0, 0, 9}},
				&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
				&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{6}},
				&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2},
				&expr.Range{Op: expr.CmpOpEq, Register: 1, FromData: []byte{0, 80}, ToData: []byte{0, 90}},
				&expr.Log{Key: 1 << 2, Data: []byte("h1 ")},
				&expr.Verdict{Kind: expr.VerdictAccept},
			},
		},
		{
			name:  "icmp type and code",
			allow: Allow{Proto: 1, ICMPType: &icmpType, ICMPCode: &icmpCode},
			want: []expr.Any{
				&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
				&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{1}},
				&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 0, Len: 1},
				&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{8}},
				&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 1, Len: 1},
				&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{0}},
				&expr.Verdict{Kind: expr.VerdictAccept},
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.allow.Exprs(); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %#v\nwant %#v", got, tc.want)
			}
		})
	}
}
