package network

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"strings"

	"github.com/gdn-dev/gdn/pkg/atomicfile"
	"github.com/gdn-dev/gdn/pkg/errkind"
	"github.com/gdn-dev/gdn/pkg/handle"
	"github.com/gdn-dev/gdn/pkg/network/link"
	"github.com/gdn-dev/gdn/pkg/network/nft"
	"github.com/gdn-dev/gdn/pkg/network/port"
	"github.com/gdn-dev/gdn/pkg/network/subnet"
)

// DefaultStateDir is where gdn-net keeps its state.
const DefaultStateDir = "/var/lib/gdn/net"

// DefaultMTU is the devices' MTU when none is configured (Guardian caps
// the detected one at this).
const DefaultMTU = 1500

// Config holds the networker's settings (gdn-net's global flags).
type Config struct {
	StateDir   string
	Pool       netip.Prefix
	PortStart  uint32
	PortSize   uint32
	MTU        int
	ExternalIP netip.Addr
	// Deny are ranges containers may not reach (--deny-network), unless
	// a net-out rule allows it.
	Deny []netip.Prefix
	// AllowHostAccess lets containers open connections to the host.
	AllowHostAccess bool
	DNS             DNSConfig
}

// Networker sets up and tears down container networks.
type Networker struct{ cfg Config }

// New returns a Networker for cfg, with defaults for unset fields.
func New(cfg Config) (*Networker, error) {
	if cfg.StateDir == "" {
		cfg.StateDir = DefaultStateDir
	}
	if !cfg.Pool.IsValid() {
		cfg.Pool = subnet.DefaultPool
	}
	if cfg.PortStart == 0 {
		cfg.PortStart, cfg.PortSize = port.DefaultStart, port.DefaultSize
	}
	if cfg.MTU == 0 {
		cfg.MTU = DefaultMTU
	}
	if err := os.MkdirAll(filepath.Join(cfg.StateDir, "containers"), 0o700); err != nil {
		return nil, err
	}
	return &Networker{cfg: cfg}, nil
}

// State is one container's network, as kept on disk.
type State struct {
	Handle      string       `json:"handle"`
	Subnet      netip.Prefix `json:"subnet"`
	IP          netip.Addr   `json:"ip"`
	Gateway     netip.Addr   `json:"gateway"`
	Bridge      string       `json:"bridge"`
	HostIf      string       `json:"host_interface"`
	ContainerIf string       `json:"container_interface"`
	Chain       string       `json:"chain"`
	MTU         int          `json:"mtu"`
	MappedPorts []PortMap    `json:"mapped_ports"`
	// DNSDir holds the container's hosts and resolv.conf, if Up wrote
	// them; Down removes them.
	DNSDir string `json:"dns_dir,omitempty"`
}

// PortMap is a net-in mapping, with Guardian's key casing (it is stored
// in the garden.network.mapped-ports property as is).
type PortMap struct {
	HostPort      uint32 `json:"HostPort"`
	ContainerPort uint32 `json:"ContainerPort"`
}

func (n *Networker) statePath(h string) string {
	return filepath.Join(n.cfg.StateDir, "containers", h+".json")
}

// Up gives container h, whose init has pid, its network: a subnet and IP
// (from request, Garden's ContainerSpec.network form), a veth pair on the
// subnet's bridge, NAT, its firewall chain with netOut's rules, and, if
// dnsDir is set, hosts and resolv.conf files there. Errors: errkind.InvalidHandle,
// errkind.HandleInUse, errkind.InvalidSpec, errkind.PoolExhausted. A
// failed Up removes what it made.
func (n *Networker) Up(ctx context.Context, h string, pid int, request string, netOut []NetOutRule, dnsDir string) (_ *State, err error) {
	if err := handle.Validate(h); err != nil {
		return nil, err
	}
	allows, err := translate(h, netOut)
	if err != nil {
		return nil, err
	}
	if pid <= 0 {
		return nil, fmt.Errorf("network up %q: no pid: %w", h, errkind.InvalidSpec)
	}
	req, err := subnet.ParseRequest(request)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(n.statePath(h)); err == nil {
		return nil, fmt.Errorf("network of %q already exists: %w", h, errkind.HandleInUse)
	}
	var alloc subnet.Allocation
	err = subnet.Update(n.subnetsPath(), n.cfg.Pool, func(p *subnet.Pool) error {
		alloc, err = p.Acquire(req)
		return err
	})
	if err != nil {
		return nil, err
	}
	id := newID()
	st := &State{
		Handle: h, Subnet: alloc.Subnet, IP: alloc.IP, Gateway: alloc.Gateway,
		Bridge: bridgeName(alloc.Subnet), HostIf: "w" + id + "-0", ContainerIf: "w" + id + "-1", Chain: "c-" + id,
		MTU: n.cfg.MTU, MappedPorts: []PortMap{}, DNSDir: dnsDir,
	}
	// Recorded before any device exists: Down and Cleanup work from it.
	if err := n.save(st); err != nil {
		n.releaseSubnet(alloc)
		return nil, err
	}
	defer func() {
		if err != nil {
			_, _ = n.Down(ctx, h)
		}
	}()
	if err := link.EnableForwarding(); err != nil {
		return nil, err
	}
	err = link.Up(link.Config{
		Bridge: st.Bridge, HostIf: st.HostIf, ContainerIf: st.ContainerIf,
		Gateway:     netip.PrefixFrom(alloc.Gateway, alloc.Subnet.Bits()),
		ContainerIP: netip.PrefixFrom(alloc.IP, alloc.Subnet.Bits()),
		MTU:         st.MTU, Pid: pid,
	})
	if err != nil {
		return nil, fmt.Errorf("network up %q: %w", h, err)
	}
	err = nft.Up(nft.Container{
		Handle: h, Chain: st.Chain, Bridge: st.Bridge, IP: st.IP, Subnet: st.Subnet,
		Deny: n.cfg.Deny, Allows: allows,
	}, nft.Base{AllowHostAccess: n.cfg.AllowHostAccess})
	if err != nil {
		return nil, err
	}
	if dnsDir != "" {
		if err := n.writeDNSFiles(dnsDir, st); err != nil {
			return nil, fmt.Errorf("network up %q: dns files: %w", h, err)
		}
	}
	return st, nil
}

// Down removes container h's network: devices, its subnet's NAT rule and
// bridge when it was the subnet's last container, its IP and ports, and
// its state. Idempotent: existed is false when there was nothing.
func (n *Networker) Down(_ context.Context, h string) (existed bool, err error) {
	if err := handle.Validate(h); err != nil {
		return false, err
	}
	st, err := n.load(h)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return true, err
	}
	last := n.releaseSubnet(subnet.Allocation{Subnet: st.Subnet, IP: st.IP, Gateway: st.Gateway})
	if err := link.Down(st.HostIf, st.Bridge, last); err != nil {
		return true, err
	}
	var lastSubnet *netip.Prefix
	if last {
		lastSubnet = &st.Subnet
	}
	if err := nft.Down(h, st.Chain, lastSubnet); err != nil {
		return true, err
	}
	if len(st.MappedPorts) > 0 {
		err := port.Update(n.portsPath(), n.cfg.PortStart, n.cfg.PortSize, func(p *port.Pool) error {
			for _, m := range st.MappedPorts {
				p.Release(m.HostPort)
			}
			return nil
		})
		if err != nil {
			return true, err
		}
	}
	if st.DNSDir != "" {
		_ = os.Remove(filepath.Join(st.DNSDir, "hosts"))
		_ = os.Remove(filepath.Join(st.DNSDir, "resolv.conf"))
	}
	if err := os.Remove(n.statePath(h)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return true, err
	}
	return true, nil
}

// Show returns container h's network. Errors: errkind.ContainerNotFound.
func (n *Networker) Show(h string) (*State, error) {
	if err := handle.Validate(h); err != nil {
		return nil, err
	}
	st, err := n.load(h)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("network of %q: %w", h, errkind.ContainerNotFound)
	}
	return st, err
}

// releaseSubnet returns an allocation; lastInSubnet tells whether the
// subnet is now unused.
func (n *Networker) releaseSubnet(a subnet.Allocation) (lastInSubnet bool) {
	_ = subnet.Update(n.subnetsPath(), n.cfg.Pool, func(p *subnet.Pool) error {
		lastInSubnet = p.Release(a)
		return nil
	})
	return lastInSubnet
}

func (n *Networker) subnetsPath() string { return filepath.Join(n.cfg.StateDir, "subnets.json") }
func (n *Networker) portsPath() string   { return filepath.Join(n.cfg.StateDir, "ports.json") }

func (n *Networker) save(st *State) error {
	data, err := json.Marshal(st)
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(n.statePath(st.Handle), data, 0o600)
}

func (n *Networker) load(h string) (*State, error) {
	data, err := os.ReadFile(n.statePath(h))
	if err != nil {
		return nil, err
	}
	var st State
	if err := json.Unmarshal(data, &st); err != nil {
		return nil, fmt.Errorf("network state of %q: %w", h, err)
	}
	return &st, nil
}

// bridgeName is Guardian's: "wbrdg-" and the subnet's network address in
// hex (wbrdg-0afe0004 for 10.254.0.4/30), one bridge per subnet.
func bridgeName(s netip.Prefix) string {
	b := s.Addr().As4()
	return fmt.Sprintf("wbrdg-%02x%02x%02x%02x", b[0], b[1], b[2], b[3])
}

// newID is 11 random base-32 characters, like Guardian's instance ids,
// so device names stay within the kernel's 15 bytes ("w" + id + "-0").
func newID() string {
	return strings.ToLower(rand.Text()[:11])
}

var jsonMarshal = json.Marshal
