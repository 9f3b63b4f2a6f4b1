package link

import (
	"errors"
	"fmt"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// Bandwidth limits a container's traffic each way to Rate bytes a second,
// letting Burst bytes through at once.
type Bandwidth struct {
	Rate  uint64 `json:"rate"`
	Burst uint64 `json:"burst"`
}

// tbfLatency is how long a packet may wait in a limit's queue: it sizes
// the queue (Rate x latency + Burst bytes), as `tc ... tbf latency 25ms`.
const tbfLatency = 0.025

// SetBandwidth limits the traffic through the host end of a container's
// veth, both ways, with token buckets the container cannot reach (they are
// all in the host's namespace): traffic to the container leaves hostIf,
// so a TBF qdisc on hostIf's egress shapes it; traffic from the container
// arrives on hostIf, where no shaper sits, so an ingress qdisc's u32
// filter redirects all of it (mirred) to ifb, an IFB device whose egress
// TBF shapes it. Run again, it changes the rate and burst in place. ifb
// is created (with alias) if missing.
func SetBandwidth(hostIf, ifb, alias string, bw Bandwidth) error {
	host, err := netlink.LinkByName(hostIf)
	if err != nil {
		return fmt.Errorf("bandwidth: %s: %w", hostIf, err)
	}
	ifbLink, err := netlink.LinkByName(ifb)
	if err == nil {
		if a := ifbLink.Attrs().Alias; a != "" && a != alias {
			return fmt.Errorf("bandwidth: %s belongs to another networker (%q): %w", ifb, a, ErrNotOurs)
		}
	} else {
		l := &netlink.Ifb{LinkAttrs: netlink.LinkAttrs{Name: ifb, TxQLen: 1000}}
		if err := netlink.LinkAdd(l); err != nil {
			return fmt.Errorf("bandwidth: add %s: %w", ifb, err)
		}
		if ifbLink, err = netlink.LinkByName(ifb); err != nil {
			return err
		}
		if err := netlink.LinkSetAlias(ifbLink, alias); err != nil {
			return fmt.Errorf("bandwidth: alias %s: %w", ifb, err)
		}
	}
	if err := netlink.LinkSetUp(ifbLink); err != nil {
		return fmt.Errorf("bandwidth: set %s up: %w", ifb, err)
	}
	for _, l := range []netlink.Link{host, ifbLink} {
		if err := netlink.QdiscReplace(tbf(l, bw)); err != nil {
			return fmt.Errorf("bandwidth: tbf on %s: %w", l.Attrs().Name, err)
		}
	}
	ingress := &netlink.Ingress{QdiscAttrs: netlink.QdiscAttrs{
		LinkIndex: host.Attrs().Index, Handle: netlink.MakeHandle(0xffff, 0), Parent: netlink.HANDLE_INGRESS}}
	if err := netlink.QdiscReplace(ingress); err != nil {
		return fmt.Errorf("bandwidth: ingress qdisc on %s: %w", hostIf, err)
	}
	redirect := &netlink.U32{
		FilterAttrs: netlink.FilterAttrs{
			LinkIndex: host.Attrs().Index, Parent: netlink.MakeHandle(0xffff, 0),
			Handle: netlink.MakeHandle(0, 1), Priority: 1, Protocol: unix.ETH_P_ALL,
		},
		// Sel nil matches every packet.
		Actions: []netlink.Action{netlink.NewMirredAction(ifbLink.Attrs().Index)},
	}
	if err := netlink.FilterReplace(redirect); err != nil {
		return fmt.Errorf("bandwidth: redirect %s to %s: %w", hostIf, ifb, err)
	}
	return nil
}

func tbf(l netlink.Link, bw Bandwidth) *netlink.Tbf {
	return &netlink.Tbf{
		QdiscAttrs: netlink.QdiscAttrs{LinkIndex: l.Attrs().Index, Handle: netlink.MakeHandle(1, 0), Parent: netlink.HANDLE_ROOT},
		Rate:       bw.Rate,
		Limit:      uint32(min(float64(bw.Rate)*tbfLatency+float64(bw.Burst), 1<<31)),
		Buffer:     netlink.Xmittime(bw.Rate, uint32(min(bw.Burst, 1<<31))),
	}
}

// ClearBandwidth removes the limits: hostIf's root and ingress qdiscs
// (back to the default) and the ifb device, if owner's (see Delete).
// Absent ones are not an error.
func ClearBandwidth(hostIf, ifb, owner string) error {
	if host, err := netlink.LinkByName(hostIf); err == nil {
		qs, err := netlink.QdiscList(host)
		if err != nil {
			return err
		}
		for _, q := range qs {
			if q.Type() != "tbf" && q.Type() != "ingress" {
				continue
			}
			if err := netlink.QdiscDel(q); err != nil && !errors.Is(err, unix.ENOENT) && !errors.Is(err, unix.EINVAL) {
				return fmt.Errorf("bandwidth: remove %s qdisc of %s: %w", q.Type(), hostIf, err)
			}
		}
	}
	return Delete(ifb, owner)
}
