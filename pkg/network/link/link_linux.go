// Package link makes and removes a container's network devices (reference
// guardian-internals §5.4): one bridge per subnet holding the gateway IP,
// and a veth pair per container whose host end is on the bridge and whose
// other end is made in the container's network namespace, addressed, and
// given a default route via the gateway. All of it through netlink:
// the container side is configured with a netlink socket opened in the
// container's namespace, so no thread ever changes namespace.
package link

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"strings"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// Config describes one container's devices.
type Config struct {
	// Bridge, HostIf and ContainerIf are device names (15 bytes at most).
	Bridge, HostIf, ContainerIf string
	// Gateway is the bridge's address, with the subnet's length.
	Gateway netip.Prefix
	// ContainerIP is the container's address, with the subnet's length.
	ContainerIP netip.Prefix
	MTU         int
	// Pid is a process in the container's network namespace.
	Pid int
	// Alias marks the host end of the veth, and BridgeAlias a bridge this
	// makes, as whose they are (IFLA_IFALIAS, `ip link` shows it): the
	// kernel records it with the device, so that cleanup can tell its own
	// devices from another networker's of the same names. (A kill between
	// making a device and naming it leaves it unmarked; the container's
	// state names it already, so Down and Cleanup still remove it.)
	Alias, BridgeAlias string
}

// Up makes the veth pair on br, the subnet's bridge (EnsureBridge), and
// the container's side. On failure it removes the veth pair it made (and
// so its container end); the bridge stays for Down to judge.
func Up(br netlink.Link, cfg Config) (err error) {
	// The container's end is made in the container's namespace: moving
	// a device between namespaces waits for an RCU barrier under the
	// kernel's RTNL lock (15-30 ms here, serialised host-wide), making it
	// there does not.
	veth := &netlink.Veth{
		LinkAttrs: netlink.LinkAttrs{Name: cfg.HostIf, MTU: cfg.MTU, MasterIndex: br.Attrs().Index},
		PeerName:  cfg.ContainerIf, PeerMTU: uint32(max(cfg.MTU, 0)), PeerNamespace: netlink.NsPid(cfg.Pid),
	}
	if err := netlink.LinkAdd(veth); err != nil {
		return fmt.Errorf("add veth %s with its peer in the namespace of pid %d: %w", cfg.HostIf, cfg.Pid, err)
	}
	defer func() {
		if err != nil {
			_ = netlink.LinkDel(veth)
		}
	}()
	if err := noIPv6(cfg.HostIf); err != nil {
		return err
	}
	// The kernel takes an alias only on a change, not with a new link.
	if err := netlink.LinkSetAlias(veth, cfg.Alias); err != nil {
		return fmt.Errorf("alias %s: %w", cfg.HostIf, err)
	}
	if err := netlink.LinkSetUp(veth); err != nil {
		return fmt.Errorf("set %s up: %w", cfg.HostIf, err)
	}
	// The IP may have been another container's a moment ago (a shared
	// subnet's bridge outlives its containers): the host forgets that
	// one's MAC rather than risk sending to it until the entry goes stale.
	stale := &netlink.Neigh{LinkIndex: br.Attrs().Index, Family: netlink.FAMILY_V4, IP: net.IP(cfg.ContainerIP.Addr().AsSlice())}
	if err := netlink.NeighDel(stale); err != nil && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("forget the old neighbour %s on %s: %w", cfg.ContainerIP.Addr(), cfg.Bridge, err)
	}
	return configureContainer(cfg)
}

// EnsureBridge finds or makes the subnet's bridge, with the gateway IP,
// up. It needs no pid: a caller makes the bridge before the container's
// namespace exists, and Up puts the veth on it once it does.
func EnsureBridge(cfg Config) (netlink.Link, error) {
	if br, err := netlink.LinkByName(cfg.Bridge); err == nil {
		// Another networker's bridge of the same name (the same subnet,
		// in its pool too) is not to be joined, nor later deleted.
		if a := br.Attrs().Alias; a != "" && a != cfg.BridgeAlias {
			return nil, fmt.Errorf("bridge %s belongs to another networker (%q): %w", cfg.Bridge, a, ErrNotOurs)
		}
		return br, nil
	}
	br := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: cfg.Bridge, MTU: cfg.MTU}}
	if err := netlink.LinkAdd(br); err != nil && !errors.Is(err, unix.EEXIST) {
		return nil, fmt.Errorf("add bridge %s: %w", cfg.Bridge, err)
	}
	link, err := netlink.LinkByName(cfg.Bridge)
	if err != nil {
		return nil, err
	}
	if err := netlink.LinkSetAlias(link, cfg.BridgeAlias); err != nil {
		return nil, fmt.Errorf("alias bridge %s: %w", cfg.Bridge, err)
	}
	if err := noIPv6(cfg.Bridge); err != nil {
		return nil, err
	}
	addr := &netlink.Addr{IPNet: ipnet(cfg.Gateway)}
	if err := netlink.AddrAdd(link, addr); err != nil && !errors.Is(err, unix.EEXIST) {
		return nil, fmt.Errorf("address bridge %s: %w", cfg.Bridge, err)
	}
	if err := netlink.LinkSetUp(link); err != nil {
		return nil, fmt.Errorf("set bridge %s up: %w", cfg.Bridge, err)
	}
	return link, nil
}

// ExternalIP is the host's first IPv4 address on the interface that holds
// the default route. It lists every route and address on the host (3000
// with 1000 containers), so a caller that asks often should remember it:
// gdn-server asks once at its start and passes it to gdn-net, as Guardian
// detects it once.
func ExternalIP() (netip.Addr, error) {
	routes, err := RouteList()
	if err != nil {
		return netip.Addr{}, err
	}
	for _, r := range routes {
		if r.Dst != nil && r.Dst.IP.To4() != nil && !r.Dst.IP.IsUnspecified() {
			continue
		}
		l, err := netlink.LinkByIndex(r.LinkIndex)
		if err != nil {
			continue
		}
		addrs, err := addrList(l)
		if err != nil || len(addrs) == 0 {
			continue
		}
		if ip, ok := netip.AddrFromSlice(addrs[0].IP.To4()); ok {
			return ip, nil
		}
	}
	return netip.Addr{}, errors.New("no external IP: no default route")
}

// noIPv6 turns IPv6 off on a host device before it goes up. Containers'
// networks are IPv4; each device's IPv6 routes (link-local, local,
// multicast) would make every later device's up and down walk the
// kernel's whole IPv6 routing table, 6000 routes with 1000 containers.
// It also keeps the host from answering a container on an IPv6
// link-local address, which the firewall (family ip) does not see. A host
// without IPv6 has nothing to turn off.
func noIPv6(name string) error {
	err := os.WriteFile("/proc/sys/net/ipv6/conf/"+name+"/disable_ipv6", []byte("1"), 0o644)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("turn IPv6 off on %s: %w", name, err)
	}
	return nil
}

// configureContainer addresses the container's end, brings it and
// loopback up, and routes everything via the gateway.
func configureContainer(cfg Config) error {
	ns, err := netns.GetFromPid(cfg.Pid)
	if err != nil {
		return fmt.Errorf("namespace of pid %d: %w", cfg.Pid, err)
	}
	defer ns.Close()
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		return fmt.Errorf("netlink in the namespace of pid %d: %w", cfg.Pid, err)
	}
	defer h.Close()
	link, err := h.LinkByName(cfg.ContainerIf)
	if err != nil {
		return err
	}
	if err := h.AddrAdd(link, &netlink.Addr{IPNet: ipnet(cfg.ContainerIP)}); err != nil {
		return fmt.Errorf("address %s: %w", cfg.ContainerIf, err)
	}
	if err := h.LinkSetUp(link); err != nil {
		return err
	}
	if lo, err := h.LinkByName("lo"); err == nil {
		_ = h.LinkSetUp(lo)
	}
	gw := net.IP(cfg.Gateway.Addr().AsSlice())
	// Replace, not add: a namespace brought up again while its previous
	// veth is still being deleted (a detached down) has that one's route.
	if err := h.RouteReplace(&netlink.Route{LinkIndex: link.Attrs().Index, Gw: gw}); err != nil {
		return fmt.Errorf("default route via %s: %w", gw, err)
	}
	return nil
}

// ErrNotOurs is a device of the name sought that another networker made.
var ErrNotOurs = errors.New("not this networker's device")

// Check tells whether cfg's host side is whole (a kill, or a bug, may
// have left it half made): the bridge is up with the gateway address,
// and the veth's host end is up on it.
func Check(cfg Config) error {
	br, err := netlink.LinkByName(cfg.Bridge)
	if err != nil {
		return fmt.Errorf("bridge %s: %w", cfg.Bridge, err)
	}
	addrs, err := addrList(br)
	if err != nil {
		return fmt.Errorf("addresses of %s: %w", cfg.Bridge, err)
	}
	found := false
	for _, a := range addrs {
		if ip, ok := netip.AddrFromSlice(a.IP.To4()); ok && ip == cfg.Gateway.Addr() {
			found = true
		}
	}
	if !found {
		return fmt.Errorf("bridge %s lacks the gateway address %s", cfg.Bridge, cfg.Gateway)
	}
	veth, err := netlink.LinkByName(cfg.HostIf)
	if err != nil {
		return fmt.Errorf("veth %s: %w", cfg.HostIf, err)
	}
	if veth.Attrs().MasterIndex != br.Attrs().Index {
		return fmt.Errorf("veth %s is not on bridge %s", cfg.HostIf, cfg.Bridge)
	}
	if br.Attrs().Flags&net.FlagUp == 0 || veth.Attrs().Flags&net.FlagUp == 0 {
		return fmt.Errorf("bridge %s or veth %s is down", cfg.Bridge, cfg.HostIf)
	}
	return nil
}

// Delete removes device name if it is owner's: its alias is owner, begins
// with owner and a space, or is empty (a kill between making a device and
// naming it leaves it so; the caller's state names it). An absent device
// is not an error; another networker's is left alone.
func Delete(name, owner string) error {
	l, err := netlink.LinkByName(name)
	if err != nil {
		return nil
	}
	if a := l.Attrs().Alias; a != "" && !ownedBy(a, owner) {
		return nil
	}
	if err := netlink.LinkDel(l); err != nil && !isNotFound(err) {
		return fmt.Errorf("delete %s: %w", name, err)
	}
	return nil
}

// Owned lists the devices whose alias is owner, or begins with owner and
// a space, by name.
func Owned(owner string) (map[string]string, error) {
	links, err := linkList()
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, l := range links {
		a := l.Attrs()
		if ownedBy(a.Alias, owner) {
			out[a.Name] = a.Alias
		}
	}
	return out, nil
}

// dumpRetries bounds linkList's retries of an interrupted dump.
const dumpRetries = 10

// linkList lists the host's links. The kernel interrupts a dump when links
// change during it (other containers coming and going), and the list may
// then miss some: it is retried, so that a cleanup never mistakes a
// partial list for the whole.
func linkList() ([]netlink.Link, error) {
	links, err := redump(netlink.LinkList)
	if err != nil {
		return nil, fmt.Errorf("list links: %w", err)
	}
	return links, nil
}

// addrList lists l's IPv4 addresses (see redump).
func addrList(l netlink.Link) ([]netlink.Addr, error) {
	return redump(func() ([]netlink.Addr, error) { return addrsOf(l.Attrs().Index) })
}

// addrsOf lists the IPv4 addresses of the link with index idx. It asks
// the kernel for that link's alone (a strictly checked dump, Linux 4.20):
// netlink.AddrList dumps every address on the host and filters them here,
// and the host holds one per subnet's bridge, 1000 with 1000 containers.
// The filter is applied here too, for a kernel that ignores it.
func addrsOf(idx int) ([]netlink.Addr, error) {
	s, err := nl.GetNetlinkSocketAt(netns.None(), netns.None(), unix.NETLINK_ROUTE)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	if err := unix.SetsockoptInt(s.GetFd(), unix.SOL_NETLINK, unix.NETLINK_GET_STRICT_CHK, 1); err != nil {
		return nil, fmt.Errorf("netlink strict check: %w", err)
	}
	req := nl.NewNetlinkRequest(unix.RTM_GETADDR, unix.NLM_F_DUMP)
	msg := nl.NewIfAddrmsg(unix.AF_INET)
	msg.Index = uint32(idx)
	req.AddData(msg)
	req.Sockets = map[int]*nl.SocketHandle{unix.NETLINK_ROUTE: {Socket: s}}
	msgs, err := req.Execute(unix.NETLINK_ROUTE, unix.RTM_NEWADDR)
	if err != nil {
		return nil, err
	}
	var addrs []netlink.Addr
	for _, m := range msgs {
		if len(m) < unix.SizeofIfAddrmsg {
			continue
		}
		ifa := nl.DeserializeIfAddrmsg(m)
		if int(ifa.Index) != idx || ifa.Family != unix.AF_INET {
			continue
		}
		attrs, err := nl.ParseRouteAttr(m[unix.SizeofIfAddrmsg:])
		if err != nil {
			return nil, err
		}
		var local, address net.IP
		for _, a := range attrs {
			switch a.Attr.Type {
			case unix.IFA_LOCAL:
				local = net.IP(a.Value)
			case unix.IFA_ADDRESS:
				address = net.IP(a.Value)
			}
		}
		ip := local
		if ip == nil {
			ip = address
		}
		if ip != nil {
			addrs = append(addrs, netlink.Addr{IPNet: &net.IPNet{IP: ip, Mask: net.CIDRMask(int(ifa.Prefixlen), 32)}, LinkIndex: idx})
		}
	}
	return addrs, nil
}

// AddrList is addrList for the networker's other callers.
func AddrList(l netlink.Link) ([]netlink.Addr, error) { return addrList(l) }

// RouteList lists the host's IPv4 routes (see redump).
func RouteList() ([]netlink.Route, error) {
	return redump(func() ([]netlink.Route, error) { return netlink.RouteList(nil, netlink.FAMILY_V4) })
}

// redump runs a netlink dump again while the kernel interrupts it: links,
// addresses and routes of other containers change all the time, and an
// interrupted dump may be incomplete.
func redump[T any](dump func() (T, error)) (T, error) {
	var v T
	var err error
	for range dumpRetries {
		if v, err = dump(); !errors.Is(err, netlink.ErrDumpInterrupted) {
			break
		}
	}
	return v, err
}

func ownedBy(alias, owner string) bool {
	return alias == owner || strings.HasPrefix(alias, owner+" ")
}

// EnableForwarding turns on IPv4 forwarding, which routing containers'
// traffic needs.
func EnableForwarding() error {
	return os.WriteFile("/proc/sys/net/ipv4/ip_forward", []byte("1"), 0o644)
}

// Stats returns the bytes received and sent by the container, counted on
// the host end of its veth (the container's rx is the host end's tx).
func Stats(hostIf string) (rx, tx uint64, err error) {
	l, err := netlink.LinkByName(hostIf)
	if err != nil {
		return 0, 0, err
	}
	s := l.Attrs().Statistics
	if s == nil {
		return 0, 0, nil
	}
	return s.TxBytes, s.RxBytes, nil
}

func ipnet(p netip.Prefix) *net.IPNet {
	return &net.IPNet{IP: net.IP(p.Addr().AsSlice()), Mask: net.CIDRMask(p.Bits(), 32)}
}

func isNotFound(err error) bool {
	var nf netlink.LinkNotFoundError
	return errors.As(err, &nf) || errors.Is(err, unix.ENODEV)
}
