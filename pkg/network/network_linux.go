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
	"slices"
	"strings"
	"time"

	"github.com/gdn-dev/gdn/pkg/atomicfile"
	"github.com/gdn-dev/gdn/pkg/crash"
	"github.com/gdn-dev/gdn/pkg/errkind"
	"github.com/gdn-dev/gdn/pkg/flock"
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
	// Table is the nftables table (nft.DefaultTable when empty). It also
	// names this networker's devices (their alias is Owner()), so
	// networkers with their own state dirs and tables share a host.
	Table string
}

// Networker sets up and tears down container networks.
type Networker struct {
	cfg Config
	nft *nft.Table
}

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
	for _, d := range []string{"containers", "locks"} {
		if err := os.MkdirAll(filepath.Join(cfg.StateDir, d), 0o700); err != nil {
			return nil, err
		}
	}
	t := nft.New(cfg.Table)
	cfg.Table = t.Name()
	return &Networker{cfg: cfg, nft: t}, nil
}

// Owner is the alias of this networker's devices: "gdn-net " and the
// table's name; a veth's or ifb's alias adds the handle.
func (n *Networker) Owner() string { return "gdn-net " + n.cfg.Table }

// Setup makes the nftables table, its chains and base rules, idempotently,
// and turns on IPv4 forwarding. Up does it too, where missing.
func (n *Networker) Setup() error {
	if err := link.EnableForwarding(); err != nil {
		return err
	}
	return n.nft.Setup(nft.Base{AllowHostAccess: n.cfg.AllowHostAccess})
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
	// Bandwidth is the container's limit, each way; Ifb is the device
	// that shapes its outbound traffic (see link.SetBandwidth).
	Bandwidth *link.Bandwidth `json:"bandwidth_limits,omitempty"`
	Ifb       string          `json:"ifb_interface,omitempty"`
	// UpInProgress is set until Up finished: Cleanup takes down a network
	// whose Up died (kill -9) halfway. (States written before this field
	// existed lack it, and count as finished.)
	UpInProgress bool `json:"up_in_progress,omitempty"`
}

// UpSpec is what Up needs besides the handle.
type UpSpec struct {
	// Pid is a process in the container's network namespace.
	Pid int
	// PidFrom, when Pid is 0, gives the pid once it is known: Up does
	// what needs no namespace first (allocation, firewall, bridge), so
	// that this overlaps the runtime's start of the container. (Not
	// JSON: a function.)
	PidFrom func() (int, error) `json:"-"`
	// Network is Garden's ContainerSpec.network ("", "a.b.c.d",
	// "a.b.c.d/n").
	Network string
	NetOut  []NetOutRule
	// DNSDir, if set, gets the container's hosts and resolv.conf.
	DNSDir string
	// Bandwidth, if set, limits the container's traffic each way.
	Bandwidth *link.Bandwidth
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

// Up gives container h its network: a subnet and IP (spec.Network), a
// veth pair on the subnet's bridge, NAT, its firewall chain with
// spec.NetOut's rules, its bandwidth limit, and, if spec.DNSDir is set,
// hosts and resolv.conf files there. Errors: errkind.InvalidHandle,
// errkind.HandleInUse, errkind.InvalidSpec, errkind.PoolExhausted. A
// failed Up removes what it made; one killed halfway leaves a state that
// Down, or Cleanup, takes down.
func (n *Networker) Up(ctx context.Context, h string, spec UpSpec) (_ *State, err error) {
	if err := handle.Validate(h); err != nil {
		return nil, err
	}
	allows, err := translate(h, spec.NetOut)
	if err != nil {
		return nil, err
	}
	if spec.Pid <= 0 && spec.PidFrom == nil {
		return nil, fmt.Errorf("network up %q: no pid: %w", h, errkind.InvalidSpec)
	}
	req, err := subnet.ParseRequest(spec.Network)
	if err != nil {
		return nil, err
	}
	if spec.Bandwidth != nil {
		if err := n.checkBandwidth(*spec.Bandwidth); err != nil {
			return nil, err
		}
	}
	busy, err := n.busy()
	if err != nil {
		return nil, err
	}
	defer busy.Release()
	id := newID()
	var st *State
	// The state is written under the pool's lock, with the allocation:
	// a pool rebuilt from the states (Cleanup, a lost pool file) sees
	// every allocation, and no device exists yet that it does not name.
	allocate := func(p *subnet.Pool) error {
		if _, err := os.Stat(n.statePath(h)); err == nil {
			return fmt.Errorf("network of %q already exists: %w", h, errkind.HandleInUse)
		}
		alloc, err := p.Acquire(req)
		if err != nil {
			return err
		}
		st = &State{
			Handle: h, Subnet: alloc.Subnet, IP: alloc.IP, Gateway: alloc.Gateway,
			Bridge: bridgeName(alloc.Subnet), HostIf: "w" + id + "-0", ContainerIf: "w" + id + "-1", Chain: nft.ChainPrefix + id,
			MTU: n.cfg.MTU, MappedPorts: []PortMap{}, DNSDir: spec.DNSDir, UpInProgress: true,
		}
		if spec.Bandwidth != nil {
			bw := *spec.Bandwidth
			st.Bandwidth, st.Ifb = &bw, "w"+id+"-i"
		}
		return n.save(st)
	}
	// A pool that is full only because of detached downs (their devices
	// about to go, their subnets given back then) is waited for, not
	// refused; outside the pool's lock, which they need to give back.
	for deadline := time.Now().Add(drainWait); ; time.Sleep(10 * time.Millisecond) {
		err = n.updateSubnets(allocate)
		if !errors.Is(err, errkind.PoolExhausted) || time.Now().After(deadline) || !n.draining() {
			break
		}
	}
	if err != nil {
		return nil, err
	}
	crash.Point("gdn-net.up.allocated")
	defer func() {
		if err != nil {
			_, _ = n.down(h)
		}
	}()
	if err := link.EnableForwarding(); err != nil {
		return nil, err
	}
	pidOf := spec.PidFrom
	if spec.Pid > 0 {
		pidOf = func() (int, error) { return spec.Pid, nil }
	}
	err = n.withSubnet(st.Subnet, func() error { return n.upDevices(st, pidOf, allows) })
	if err != nil {
		return nil, err
	}
	if spec.DNSDir != "" {
		if err := n.writeDNSFiles(spec.DNSDir, st); err != nil {
			return nil, fmt.Errorf("network up %q: dns files: %w", h, err)
		}
		crash.Point("gdn-net.up.dns")
	}
	st.UpInProgress = false
	if err := n.save(st); err != nil {
		return nil, err
	}
	return st, nil
}

// upDevices makes st's devices and firewall, under its subnet's lock (see
// withSubnet), and checks that they are whole before it lets go: the
// subnet's bridge and masquerade rule, which other containers of the
// subnet share, cannot go away meanwhile.
func (n *Networker) upDevices(st *State, pidOf func() (int, error), allows []nft.Allow) error {
	h := st.Handle
	cfg := link.Config{
		Bridge: st.Bridge, HostIf: st.HostIf, ContainerIf: st.ContainerIf,
		Gateway:     netip.PrefixFrom(st.Gateway, st.Subnet.Bits()),
		ContainerIP: netip.PrefixFrom(st.IP, st.Subnet.Bits()),
		MTU:         st.MTU,
		Alias:       n.Owner() + " " + h, BridgeAlias: n.Owner(),
	}
	// The firewall first: the kernel releases a commit's objects an RCU
	// grace period later, and the process's exit waits for that (see
	// nft.Table.conn); the devices' setup takes about as long.
	err := n.nft.Up(nft.Container{
		Handle: h, Chain: st.Chain, Bridge: st.Bridge, IP: st.IP, Subnet: st.Subnet,
		Deny: n.cfg.Deny, Allows: allows,
	}, nft.Base{AllowHostAccess: n.cfg.AllowHostAccess})
	if err != nil {
		return err
	}
	crash.Point("gdn-net.up.nft")
	// The subnet's bridge needs no namespace either; the veth does (its
	// container end is made in the namespace).
	br, err := link.EnsureBridge(cfg)
	if err != nil {
		if errors.Is(err, link.ErrNotOurs) {
			err = fmt.Errorf("%w: %w", err, errkind.InvalidSpec)
		}
		return fmt.Errorf("network up %q: %w", h, err)
	}
	pid, err := pidOf()
	if err != nil {
		return fmt.Errorf("network up %q: %w", h, err)
	}
	if pid <= 0 {
		return fmt.Errorf("network up %q: no pid: %w", h, errkind.InvalidSpec)
	}
	cfg.Pid = pid
	if err := link.Up(br, cfg); err != nil {
		return fmt.Errorf("network up %q: %w", h, err)
	}
	crash.Point("gdn-net.up.links")
	if st.Bandwidth != nil {
		if err := link.SetBandwidth(st.HostIf, st.Ifb, n.Owner()+" "+h, *st.Bandwidth); err != nil {
			return fmt.Errorf("network up %q: %w", h, err)
		}
		crash.Point("gdn-net.up.bandwidth")
	}
	if err := link.Check(cfg); err != nil {
		return fmt.Errorf("network up %q: incomplete: %w", h, err)
	}
	return nil
}

// CrashPoints are the steps of up, down and net-in at which a crash test
// (pkg/crash, GDN_TEST_CRASH_AT) kills gdn-net: after each one, down or
// cleanup must still remove everything of the container. up's bandwidth
// and dns points are reached only with a bandwidth limit and a dns dir.
var CrashPoints = []string{
	"gdn-net.up.allocated",    // state and pool allocation written, no device yet
	"gdn-net.up.nft",          // masquerade, chain and jump committed, no device yet
	"gdn-net.up.links",        // bridge and veth made, container side configured
	"gdn-net.up.bandwidth",    // qdiscs and ifb made
	"gdn-net.up.dns",          // hosts and resolv.conf written, state not yet final
	"gdn-net.down.links",      // veth and ifb gone
	"gdn-net.down.nft",        // bridge (if last) and rules gone
	"gdn-net.down.state",      // state file gone, IP and ports not yet released
	"gdn-net.netin.allocated", // port taken and recorded, no DNAT rule yet
	"gdn-net.netin.nft",       // DNAT rules committed
}

// Down removes container h's network: devices, its subnet's NAT rule and
// bridge when it was the subnet's last container, its IP and ports, and
// its state. Idempotent: existed is false when there was nothing.
func (n *Networker) Down(_ context.Context, h string) (existed bool, err error) {
	if err := handle.Validate(h); err != nil {
		return false, err
	}
	busy, err := n.busy()
	if err != nil {
		return false, err
	}
	defer busy.Release()
	return n.down(h)
}

// down is Down, for callers that hold the busy lock. Everything happens
// under the subnet's lock, and in this order: the container's devices and
// rules go, then the subnet's bridge and masquerade rule if no other
// container holds an IP of the subnet, then the state, and only then are
// the IP and ports given back: a subnet, IP or port is never handed out
// while something that used it is still there. (A kill after the state
// went leaves an allocation no state holds, which Cleanup frees.)
func (n *Networker) down(h string) (existed bool, err error) {
	st, err := n.load(h)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return true, err
	}
	return true, n.withSubnet(st.Subnet, func() error { return n.downLocked(st) })
}

func (n *Networker) downLocked(st *State) error {
	if err := n.deleteDevices(st); err != nil {
		return err
	}
	crash.Point("gdn-net.down.links")
	last, err := n.lastInSubnet(st)
	if err != nil {
		return err
	}
	if last {
		if err := link.Delete(st.Bridge, n.Owner()); err != nil {
			return err
		}
	}
	if err := n.firewallDown(st, last); err != nil {
		return err
	}
	crash.Point("gdn-net.down.nft")
	n.removeDNSFiles(st)
	if err := os.Remove(n.statePath(st.Handle)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	crash.Point("gdn-net.down.state")
	return n.release(st)
}

// deleteDevices deletes st's ifb and veth (and so its container end).
func (n *Networker) deleteDevices(st *State) error {
	if st.Ifb != "" {
		if err := link.Delete(st.Ifb, n.Owner()); err != nil {
			return err
		}
	}
	return link.Delete(st.HostIf, n.Owner())
}

// firewallDown removes st's rules and chain, and its subnet's masquerade
// rule and bridge set entry if last.
func (n *Networker) firewallDown(st *State, last bool) error {
	return n.nft.Down(nft.Leaving{Handle: st.Handle, Chain: st.Chain, Bridge: st.Bridge, IP: st.IP,
		Subnet: st.Subnet, LastInSubnet: last, NetIn: len(st.MappedPorts) > 0})
}

func (n *Networker) removeDNSFiles(st *State) {
	if st.DNSDir != "" {
		_ = os.Remove(filepath.Join(st.DNSDir, "hosts"))
		_ = os.Remove(filepath.Join(st.DNSDir, "resolv.conf"))
	}
}

// release gives st's ports and IP back to the pools: the last step of a
// down, once nothing that used them is left.
func (n *Networker) release(st *State) error {
	if len(st.MappedPorts) > 0 {
		err := n.updatePorts(func(p *port.Pool) error {
			for _, m := range st.MappedPorts {
				p.Release(m.HostPort)
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return n.updateSubnets(func(p *subnet.Pool) error {
		p.Release(subnet.Allocation{Subnet: st.Subnet, IP: st.IP, Gateway: st.Gateway})
		return nil
	})
}

// lastInSubnet tells whether st's is the only IP allocated in its subnet
// (or none is: a down run again). Asked under the subnet's lock: an up
// that allocates in the subnet later makes its devices only after this
// down is done, bridge and all.
func (n *Networker) lastInSubnet(st *State) (bool, error) {
	last := false
	err := n.updateSubnets(func(p *subnet.Pool) error {
		last = !slices.ContainsFunc(p.Allocated[st.Subnet], func(ip netip.Addr) bool { return ip != st.IP })
		return errReadOnly
	})
	if errors.Is(err, errReadOnly) {
		err = nil
	}
	return last, err
}

// errReadOnly ends a pool update without writing the pool back.
var errReadOnly = errors.New("read only")

// withSubnet runs fn under an exclusive lock of subnet s, which Up holds
// while it makes a container's devices and Down while it removes them
// and decides whether the subnet's bridge and masquerade rule go. The
// lock is a file (flock), as each gdn-net is a process of its own.
func (n *Networker) withSubnet(s netip.Prefix, fn func() error) error {
	l, err := flock.Acquire(n.subnetLock(s))
	if err != nil {
		return err
	}
	defer l.Release()
	return fn()
}

func (n *Networker) subnetLock(s netip.Prefix) string {
	return filepath.Join(n.cfg.StateDir, "locks", "subnet-"+strings.ReplaceAll(s.String(), "/", "_")+".lock")
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

// busy is held (shared) by every change to one container's network, and
// exclusively by Cleanup, which so never sees an Up halfway done.
func (n *Networker) busy() (*flock.Lock, error) {
	return flock.AcquireShared(filepath.Join(n.cfg.StateDir, "busy.lock"))
}

// updateSubnets runs fn on the subnet pool; a lost or corrupt pool file
// is rebuilt from the containers' states.
func (n *Networker) updateSubnets(fn func(*subnet.Pool) error) error {
	return subnet.Update(n.subnetsPath(), n.cfg.Pool, func(p *subnet.Pool) error {
		for _, st := range n.allStates() {
			p.Allocated[st.Subnet] = append(p.Allocated[st.Subnet], st.IP)
		}
		return nil
	}, fn)
}

// updatePorts runs fn on the port pool; a lost or corrupt pool file is
// rebuilt from the containers' states.
func (n *Networker) updatePorts(fn func(*port.Pool) error) error {
	return port.Update(n.portsPath(), n.cfg.PortStart, n.cfg.PortSize, func(p *port.Pool) error {
		for _, st := range n.allStates() {
			for _, m := range st.MappedPorts {
				p.Remove(m.HostPort)
			}
		}
		return nil
	}, fn)
}

// states loads every container's state that can be read, by handle.
func (n *Networker) states() map[string]*State {
	out := map[string]*State{}
	hs, _ := n.List()
	for _, h := range hs {
		if st, err := n.load(h); err == nil {
			out[h] = st
		}
	}
	return out
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
