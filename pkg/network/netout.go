package network

import (
	"fmt"
	"net"
	"net/netip"

	"github.com/gdn-dev/gdn/pkg/errkind"
	"github.com/gdn-dev/gdn/pkg/garden"
	"github.com/gdn-dev/gdn/pkg/network/nft"
)

// NetOutRule is Garden's net-out rule, in the JSON both the Garden API
// and the network plugin contract use.
type NetOutRule = garden.NetOutRule

// logPrefixLen is how much of a handle a log prefix keeps (Guardian's 28,
// within the kernel's limit).
const logPrefixLen = 28

// allows validates r as Guardian does and translates it: one nft rule
// per (network x port range), at least one. Errors: errkind.InvalidSpec.
func allows(r NetOutRule, h string) ([]nft.Allow, error) {
	var proto uint8
	switch r.Protocol {
	case garden.ProtocolAll:
	case garden.ProtocolTCP:
		proto = 6
	case garden.ProtocolUDP:
		proto = 17
	case garden.ProtocolICMP:
		proto = 1
	case garden.ProtocolICMPv6:
		return nil, fmt.Errorf("invalid protocol: %d (icmpv6 is not supported): %w", r.Protocol, errkind.InvalidSpec)
	default:
		return nil, fmt.Errorf("invalid protocol: %d: %w", r.Protocol, errkind.InvalidSpec)
	}
	if len(r.Ports) > 0 && proto != 6 && proto != 17 {
		return nil, fmt.Errorf("Ports cannot be specified for Protocol ALL/ICMP: %w", errkind.InvalidSpec) //lint:ignore ST1005 Guardian's message
	}
	if r.ICMPs != nil && proto != 1 {
		return nil, fmt.Errorf("ICMP control needs protocol icmp: %w", errkind.InvalidSpec)
	}
	prefix := h
	if len(prefix) > logPrefixLen {
		prefix = prefix[:logPrefixLen]
	}
	nets := r.Networks
	if len(nets) == 0 {
		nets = []garden.IPRange{{}}
	}
	ports := r.Ports
	if len(ports) == 0 {
		ports = []garden.PortRange{{}}
	}
	var out []nft.Allow
	for _, n := range nets {
		start, end := addr(n.Start), addr(n.End)
		if start.IsValid() != end.IsValid() || start.IsValid() && (!start.Is4() || !end.Is4() || end.Less(start)) {
			return nil, fmt.Errorf("network range %s-%s is not an IPv4 range: %w", n.Start, n.End, errkind.InvalidSpec)
		}
		for _, p := range ports {
			if p.End < p.Start {
				return nil, fmt.Errorf("port range %d-%d is backwards: %w", p.Start, p.End, errkind.InvalidSpec)
			}
			// A given range 0-0 would read as "no ports" (any port)
			// below, so it is refused rather than widened.
			if len(r.Ports) > 0 && p.End == 0 {
				return nil, fmt.Errorf("port range 0-0 names no port: %w", errkind.InvalidSpec)
			}
			a := nft.Allow{DstFrom: start, DstTo: end, Proto: proto, PortFrom: p.Start, PortTo: p.End, Log: r.Log, LogPrefix: prefix + " "}
			if r.ICMPs != nil {
				t := r.ICMPs.Type
				a.ICMPType, a.ICMPCode = &t, r.ICMPs.Code
			}
			out = append(out, a)
		}
	}
	return out, nil
}

// addr is ip as a netip.Addr (an IPv4 address in its 16-byte form
// unmapped); the zero Addr for none.
func addr(ip net.IP) netip.Addr {
	a, _ := netip.AddrFromSlice(ip)
	return a.Unmap()
}

// translate turns rules into nft allows, all or nothing.
func translate(h string, rules []NetOutRule) ([]nft.Allow, error) {
	var out []nft.Allow
	for _, r := range rules {
		a, err := allows(r, h)
		if err != nil {
			return nil, err
		}
		out = append(out, a...)
	}
	return out, nil
}

// NetOut adds net-out rules to container h's chain in one transaction
// (bulk-net-out). Errors: errkind.ContainerNotFound, errkind.InvalidSpec.
func (n *Networker) NetOut(h string, rules []NetOutRule) error {
	st, err := n.Show(h)
	if err != nil {
		return err
	}
	allows, err := translate(h, rules)
	if err != nil {
		return err
	}
	return n.nft.AddAllows(h, st.Chain, allows)
}
