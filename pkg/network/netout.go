package network

import (
	"fmt"
	"net/netip"

	"github.com/gdn-dev/gdn/pkg/errkind"
	"github.com/gdn-dev/gdn/pkg/network/nft"
)

// NetOutRule is Garden's net-out rule, in the JSON both the Garden API
// and the network plugin contract use.
type NetOutRule struct {
	// Protocol: 0 all, 1 tcp, 2 udp, 3 icmp (4, icmpv6, is refused).
	Protocol uint8        `json:"protocol,omitempty"`
	Networks []IPRange    `json:"networks,omitempty"`
	Ports    []PortRange  `json:"ports,omitempty"`
	ICMPs    *ICMPControl `json:"icmps,omitempty"`
	Log      bool         `json:"log,omitempty"`
}

// IPRange is an inclusive range of IPv4 addresses.
type IPRange struct {
	Start netip.Addr `json:"start"`
	End   netip.Addr `json:"end"`
}

// PortRange is an inclusive range of ports.
type PortRange struct {
	Start uint16 `json:"start"`
	End   uint16 `json:"end"`
}

// ICMPControl selects an ICMP type and, if Code is set, code.
type ICMPControl struct {
	Type uint8  `json:"type"`
	Code *uint8 `json:"code,omitempty"`
}

// Garden's protocol numbers.
const (
	protoAll    = 0
	protoTCP    = 1
	protoUDP    = 2
	protoICMP   = 3
	protoICMPv6 = 4
)

// logPrefixLen is how much of a handle a log prefix keeps (Guardian's 28,
// within the kernel's limit).
const logPrefixLen = 28

// allows validates r as Guardian does and translates it: one nft rule
// per (network x port range), at least one. Errors: errkind.InvalidSpec.
func (r NetOutRule) allows(h string) ([]nft.Allow, error) {
	var proto uint8
	switch r.Protocol {
	case protoAll:
	case protoTCP:
		proto = 6
	case protoUDP:
		proto = 17
	case protoICMP:
		proto = 1
	case protoICMPv6:
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
		nets = []IPRange{{}}
	}
	ports := r.Ports
	if len(ports) == 0 {
		ports = []PortRange{{}}
	}
	var out []nft.Allow
	for _, n := range nets {
		if n.Start.IsValid() != n.End.IsValid() || n.Start.IsValid() && (!n.Start.Is4() || !n.End.Is4() || n.End.Less(n.Start)) {
			return nil, fmt.Errorf("network range %s-%s is not an IPv4 range: %w", n.Start, n.End, errkind.InvalidSpec)
		}
		for _, p := range ports {
			if p.End < p.Start {
				return nil, fmt.Errorf("port range %d-%d is backwards: %w", p.Start, p.End, errkind.InvalidSpec)
			}
			a := nft.Allow{DstFrom: n.Start, DstTo: n.End, Proto: proto, PortFrom: p.Start, PortTo: p.End, Log: r.Log, LogPrefix: prefix + " "}
			if r.ICMPs != nil {
				t := r.ICMPs.Type
				a.ICMPType, a.ICMPCode = &t, r.ICMPs.Code
			}
			out = append(out, a)
		}
	}
	return out, nil
}

// translate turns rules into nft allows, all or nothing.
func translate(h string, rules []NetOutRule) ([]nft.Allow, error) {
	var out []nft.Allow
	for _, r := range rules {
		a, err := r.allows(h)
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
