package network

import (
	"fmt"
	"net/netip"

	"github.com/gdn-dev/gdn/pkg/crash"
	"github.com/gdn-dev/gdn/pkg/errkind"
	"github.com/gdn-dev/gdn/pkg/network/link"
	"github.com/gdn-dev/gdn/pkg/network/port"
)

// NetIn maps hostPort on the external IP (and for the host itself) to
// containerPort in container h, over TCP: hostPort 0 takes the least
// recently used port of the pool that no container maps, containerPort
// 0 means the same as the host port. An explicit hostPort may lie outside
// the pool (as in Guardian), but one another container maps is refused:
// its DNAT rule would never be reached. The mapping is recorded
// (garden.network.mapped-ports). Errors: errkind.ContainerNotFound,
// errkind.PoolExhausted, errkind.InvalidSpec (a port above 65535, or
// mapped for another container).
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
		// Every mapping is made under this lock, so the states hold
		// every host port in use.
		mapped := n.mappedHostPorts()
		if hostPort == 0 {
			if hostPort, err = acquireUnmapped(p, mapped); err != nil {
				return err
			}
		} else if other, ok := mapped[hostPort]; ok && other != h {
			return fmt.Errorf("net-in %q: host port %d is already mapped to container %q: %w", h, hostPort, other, errkind.InvalidSpec)
		} else {
			// A pool port taken explicitly is not handed out by a
			// later "pick one" (Down gives it back).
			p.Remove(hostPort)
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

// mappedHostPorts returns the host ports of every container's mappings,
// each with (one of) the containers that map it.
func (n *Networker) mappedHostPorts() map[uint32]string {
	out := map[uint32]string{}
	for h, st := range n.states() {
		for _, m := range st.MappedPorts {
			out[m.HostPort] = h
		}
	}
	return out
}

// acquireUnmapped takes the least recently used pool port that no
// container maps. A free port may still be mapped: one mapped explicitly
// before explicit ports left the queue, or one a Down released after
// another container mapped it (the Down's state was gone already). A port
// so skipped stays out of the queue until its mapping's Down releases it.
func acquireUnmapped(p *port.Pool, mapped map[uint32]string) (uint32, error) {
	for {
		hp, err := p.Acquire()
		if err != nil {
			return 0, err
		}
		if _, ok := mapped[hp]; !ok {
			return hp, nil
		}
	}
}

// externalIP is the configured external IP, or the detected one
// (link.ExternalIP), remembered for the rest of this run.
func (n *Networker) externalIP() (netip.Addr, error) {
	if n.cfg.ExternalIP.IsValid() {
		return n.cfg.ExternalIP, nil
	}
	ip, err := link.ExternalIP()
	if err != nil {
		return netip.Addr{}, fmt.Errorf("%w; give --external-ip", err)
	}
	n.cfg.ExternalIP = ip
	return ip, nil
}
