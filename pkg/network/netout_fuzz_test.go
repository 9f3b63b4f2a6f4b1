package network

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"net/netip"
	"testing"

	"github.com/gdn-dev/gdn/pkg/errkind"
	"github.com/gdn-dev/gdn/pkg/garden"
	"github.com/google/nftables/expr"
)

// packet is what a net-out rule looks at.
type packet struct {
	dst            netip.Addr
	proto          uint8
	port           uint16 // destination port (tcp, udp)
	icmpT, icmpC   uint8  // ICMP type and code
	transportBytes [4]byte
}

func newPacket(dst netip.Addr, proto uint8, port uint16, icmpT, icmpC uint8) packet {
	p := packet{dst: dst, proto: proto, port: port, icmpT: icmpT, icmpC: icmpC}
	if proto == 1 {
		p.transportBytes = [4]byte{icmpT, icmpC}
	} else {
		// Source port 0, then the destination port, big-endian.
		binary.BigEndian.PutUint16(p.transportBytes[2:], port)
	}
	return p
}

// accepts runs one rule's expressions on p as nftables would, for the
// expression kinds Allow.Exprs emits; t fails on anything else.
func accepts(t *testing.T, es []expr.Any, p packet) bool {
	t.Helper()
	var reg []byte
	fromMeta := false   // reg was loaded by the last expression, a Meta
	sawProto := byte(0) // the L4 protocol a Cmp has required, 0 if none
	for i, e := range es {
		if i > 0 {
			_, fromMeta = es[i-1].(*expr.Meta)
		}
		switch e := e.(type) {
		case *expr.Payload:
			switch {
			case e.Base == expr.PayloadBaseNetworkHeader && e.Offset == 16 && e.Len == 4:
				reg = p.dst.AsSlice()
			case e.Base == expr.PayloadBaseTransportHeader && e.Offset+e.Len <= 4:
				// Reading the transport header is only meaningful once
				// the protocol is pinned: ports for tcp/udp, type and
				// code for icmp.
				isPort := e.Offset == 2 && e.Len == 2
				if isPort && sawProto != 6 && sawProto != 17 || !isPort && sawProto != 1 {
					t.Fatalf("transport header read at %d+%d with protocol %d: %#v", e.Offset, e.Len, sawProto, es)
				}
				reg = p.transportBytes[e.Offset : e.Offset+e.Len]
			default:
				t.Fatalf("unexpected payload %#v", e)
			}
		case *expr.Meta:
			if e.Key != expr.MetaKeyL4PROTO {
				t.Fatalf("unexpected meta %#v", e)
			}
			reg = []byte{p.proto}
		case *expr.Cmp:
			if e.Op != expr.CmpOpEq {
				t.Fatalf("unexpected cmp %#v", e)
			}
			if fromMeta && len(e.Data) == 1 {
				sawProto = e.Data[0]
			}
			if !bytes.Equal(reg, e.Data) {
				return false
			}
		case *expr.Range:
			if e.Op != expr.CmpOpEq || len(e.FromData) != len(reg) || len(e.ToData) != len(reg) {
				t.Fatalf("unexpected range %#v for a %d-byte register", e, len(reg))
			}
			if bytes.Compare(reg, e.FromData) < 0 || bytes.Compare(reg, e.ToData) > 0 {
				return false
			}
		case *expr.Log:
		case *expr.Verdict:
			if e.Kind != expr.VerdictAccept {
				t.Fatalf("unexpected verdict %#v", e)
			}
			return true
		default:
			t.Fatalf("unexpected expression %#v", e)
		}
	}
	t.Fatalf("rule without a verdict: %#v", es)
	return false
}

// wants is Garden's meaning of r, for a rule allows accepted.
func wants(r NetOutRule, p packet) bool {
	switch r.Protocol {
	case garden.ProtocolTCP:
		if p.proto != 6 {
			return false
		}
	case garden.ProtocolUDP:
		if p.proto != 17 {
			return false
		}
	case garden.ProtocolICMP:
		if p.proto != 1 {
			return false
		}
	}
	in := func(n garden.IPRange) bool {
		if n.Start == nil && n.End == nil {
			return true // a range with no ends is any destination
		}
		return !p.dst.Less(addr(n.Start)) && !addr(n.End).Less(p.dst)
	}
	if len(r.Networks) > 0 && !anyOf(r.Networks, in) {
		return false
	}
	if len(r.Ports) > 0 && !anyOf(r.Ports, func(pr garden.PortRange) bool { return p.port >= pr.Start && p.port <= pr.End }) {
		return false
	}
	if c := r.ICMPs; c != nil && (p.icmpT != c.Type || c.Code != nil && p.icmpC != *c.Code) {
		return false
	}
	return true
}

func anyOf[T any](xs []T, f func(T) bool) bool {
	for _, x := range xs {
		if f(x) {
			return true
		}
	}
	return false
}

// probes are packets at and around every boundary r names.
func probes(r NetOutRule) []packet {
	dsts := []netip.Addr{netip.MustParseAddr("10.0.0.1")}
	for _, n := range r.Networks {
		for _, ip := range []netip.Addr{addr(n.Start), addr(n.End)} {
			if ip.IsValid() {
				dsts = append(dsts, ip, ip.Prev(), ip.Next())
			}
		}
	}
	ports := []uint16{0, 1, 80, 65535}
	for _, pr := range r.Ports {
		ports = append(ports, pr.Start, pr.Start-1, pr.Start+1, pr.End, pr.End-1, pr.End+1)
	}
	icmps := [][2]uint8{{8, 0}, {0, 0}}
	if c := r.ICMPs; c != nil {
		code := uint8(3)
		if c.Code != nil {
			code = *c.Code
		}
		icmps = append(icmps, [2]uint8{c.Type, code}, [2]uint8{c.Type + 1, code}, [2]uint8{c.Type, code + 1})
	}
	var out []packet
	for _, d := range dsts {
		if !d.IsValid() || !d.Is4() {
			continue
		}
		for _, proto := range []uint8{6, 17, 1, 47} {
			for _, port := range ports {
				for _, ic := range icmps {
					out = append(out, newPacket(d, proto, port, ic[0], ic[1]))
				}
			}
		}
	}
	return out
}

// FuzzNetOutRule: decoding and translating any net-out rule never
// panics; a refused rule is InvalidSpec; an accepted rule's nft rules
// accept exactly the packets Garden's rule allows (ports only for tcp and
// udp, ICMP type and code only for icmp), checked on packets at the edges
// of every range the rule names.
func FuzzNetOutRule(f *testing.F) {
	for _, s := range []string{
		`{}`,
		`{"protocol":1,"networks":[{"start":"10.0.0.1","end":"10.0.0.9"},{"start":"8.8.8.8","end":"8.8.8.8"}],"ports":[{"start":80,"end":80},{"start":8000,"end":8999}],"log":true}`,
		`{"protocol":2,"ports":[{"start":53,"end":53}]}`,
		`{"protocol":3,"icmps":{"type":8,"code":0}}`,
		`{"protocol":3,"icmps":{"type":8}}`,
		`{"protocol":4}`,
		`{"protocol":9}`,
		`{"protocol":0,"ports":[{"start":1,"end":2}]}`,
		`{"protocol":1,"icmps":{"type":8}}`,
		`{"protocol":1,"ports":[{"start":9,"end":1}]}`,
		`{"networks":[{"start":"10.0.0.9","end":"10.0.0.1"}]}`,
		`{"networks":[{"start":"10.0.0.9"}]}`,
		`{"networks":[{"start":"::1","end":"::2"}]}`,
		`{"networks":[{"start":"::ffff:10.0.0.1","end":"10.0.0.2"}]}`,
		`{"networks":[{"start":"0.0.0.0","end":"255.255.255.255"}],"protocol":1,"ports":[{"start":1,"end":65535}]}`,
		`{"protocol":2,"ports":[{"start":65535,"end":65535}],"log":true}`,
	} {
		f.Add(s, "handle-of-more-than-twenty-eight-bytes")
	}
	f.Add(`{"protocol":1,"ports":[{"start":22,"end":22}],"log":true}`, "h1")
	f.Fuzz(func(t *testing.T, js, h string) {
		var r NetOutRule
		if json.Unmarshal([]byte(js), &r) != nil {
			return
		}
		as, err := allows(r, h)
		if err != nil {
			if errkind.Of(err) != errkind.InvalidSpec {
				t.Fatalf("allows(%s) = %v, want InvalidSpec", js, err)
			}
			return
		}
		if len(as) == 0 {
			t.Fatalf("allows(%s) accepted the rule but made no nft rule", js)
		}
		rules := make([][]expr.Any, len(as))
		for i, a := range as {
			rules[i] = a.Exprs()
			logs := 0
			for _, e := range rules[i] {
				if l, ok := e.(*expr.Log); ok {
					logs++
					if len(l.Data) > logPrefixLen+1 {
						t.Fatalf("log prefix %q is longer than %d bytes", l.Data, logPrefixLen+1)
					}
				}
			}
			if want := map[bool]int{true: 1}[r.Log]; logs != want {
				t.Fatalf("rule %s has %d log expressions, want %d", js, logs, want)
			}
		}
		for _, p := range probes(r) {
			got := false
			for _, es := range rules {
				if accepts(t, es, p) {
					got = true
					break
				}
			}
			if want := wants(r, p); got != want {
				t.Fatalf("rule %s, packet to %s proto %d port %d icmp %d/%d: nft accepts = %v, Garden's rule allows = %v",
					js, p.dst, p.proto, p.port, p.icmpT, p.icmpC, got, want)
			}
		}
	})
}
