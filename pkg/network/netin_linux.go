package network

import (
	"fmt"
	"net/netip"

	"github.com/gdn-dev/gdn/pkg/crash"
	"github.com/gdn-dev/gdn/pkg/errkind"
	"github.com/gdn-dev/gdn/pkg/network/port"
	"github.com/vishvananda/netlink"
)

// NetIn maps hostPort on the external IP (and for the host itself) to
// containerPort in container h, over TCP: hostPort 0 takes the least
// recently used port of the pool, containerPort 0 means the same as the
// host port. The mapping is recorded (garden.network.mapped-ports).
// Errors: errkind.ContainerNotFound, errkind.PoolExhausted,
// errkind.InvalidSpec (a port above 65535).
func (n *Networker) NetIn(h string, hostPort, containerPort uint32) (PortMap, error) {
	st, err := n.Show(h)
	if err != nil {
		return PortMap{}, err
	}
	if hostPort > 65535 || containerPort > 65535 {
		return PortMap{}, fmt.Errorf("net-in %q: ports are at most 65535: %w", h, errkind.InvalidSpec)
	}
	ext, err := n.externalIP()
	if err != nil {
		return PortMap{}, err
	}
	busy, err := n.busy()
	if err != nil {
		return PortMap{}, err
	}
	defer busy.Release()
	var m PortMap
	// Recorded under the pool's lock, with the port: Down releases the
	// port and removes the rules even if we die before they exist, and a
	// rebuilt pool sees the port taken.
	err = n.updatePorts(func(p *port.Pool) error {
		if st, err = n.Show(h); err != nil {
			return err
		}
		if hostPort == 0 {
			if hostPort, err = p.Acquire(); err != nil {
				return err
			}
		}
		if containerPort == 0 {
			containerPort = hostPort
		}
		m = PortMap{HostPort: hostPort, ContainerPort: containerPort}
		st.MappedPorts = append(st.MappedPorts, m)
		return n.save(st)
	})
	if err != nil {
		return PortMap{}, err
	}
	crash.Point("gdn-net.netin.allocated")
	if err := n.nft.AddDNAT(h, ext, uint16(hostPort), st.IP, uint16(containerPort)); err != nil {
		return PortMap{}, err
	}
	crash.Point("gdn-net.netin.nft")
	return m, nil
}

// externalIP is the configured external IP, or the first IPv4 address of
// the interface holding the default route.
func (n *Networker) externalIP() (netip.Addr, error) {
	if n.cfg.ExternalIP.IsValid() {
		return n.cfg.ExternalIP, nil
	}
	routes, err := netlink.RouteList(nil, netlink.FAMILY_V4)
	if err != nil {
		return netip.Addr{}, err
	}
	for _, r := range routes {
		if r.Dst != nil && r.Dst.IP.To4() != nil && !r.Dst.IP.IsUnspecified() {
			continue
		}
		link, err := netlink.LinkByIndex(r.LinkIndex)
		if err != nil {
			continue
		}
		addrs, err := netlink.AddrList(link, netlink.FAMILY_V4)
		if err != nil || len(addrs) == 0 {
			continue
		}
		if ip, ok := netip.AddrFromSlice(addrs[0].IP.To4()); ok {
			n.cfg.ExternalIP = ip
			return ip, nil
		}
	}
	return netip.Addr{}, fmt.Errorf("no external IP: no default route; give --external-ip")
}
