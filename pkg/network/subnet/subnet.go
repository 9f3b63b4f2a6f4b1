// Package subnet allocates container subnets and IPs, as Guardian's
// networker does (reference guardian-internals §5.2): a /30 per container
// from a dynamic pool, or a static subnet (which several containers may
// share) and a static or dynamic IP inside it. In a subnet the network
// address and the broadcast address are never handed out, and the first
// host address is the gateway (the bridge's IP).
//
// Pool is pure data: no I/O, no locking. File (file.go) keeps a Pool on
// disk under a lock, so that many processes can allocate at once.
package subnet

import (
	"fmt"
	"net/netip"
	"slices"

	"github.com/gdn-dev/gdn/pkg/errkind"
)

// DefaultPool is Guardian's default --network-pool.
var DefaultPool = netip.MustParsePrefix("10.254.0.0/22")

// dynamicBits is the size of a dynamically allocated subnet: a /30 holds a
// gateway and one container.
const dynamicBits = 30

// Request asks for a subnet and an IP; a zero field means "any".
type Request struct {
	Subnet netip.Prefix
	IP     netip.Addr
}

// ParseRequest parses Garden's ContainerSpec.network: "" (any subnet, any
// IP), "a.b.c.d" (that IP in its /30), "a.b.c.d/n" naming the network
// address (that subnet, any IP), or "a.b.c.d/n" naming a host (that
// subnet, that IP). Anything else is errkind.InvalidSpec.
func ParseRequest(s string) (Request, error) {
	if s == "" {
		return Request{}, nil
	}
	if ip, err := netip.ParseAddr(s); err == nil {
		if !ip.Is4() {
			return Request{}, fmt.Errorf("network %q: only IPv4: %w", s, errkind.InvalidSpec)
		}
		return Request{Subnet: netip.PrefixFrom(ip, dynamicBits).Masked(), IP: ip}, nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil || !p.Addr().Is4() || p.Bits() > dynamicBits {
		return Request{}, fmt.Errorf("network %q: want a.b.c.d or a.b.c.d/n with n <= 30: %w", s, errkind.InvalidSpec)
	}
	if p.Addr() == p.Masked().Addr() {
		return Request{Subnet: p}, nil
	}
	return Request{Subnet: p.Masked(), IP: p.Addr()}, nil
}

// Allocation is a container's place in a subnet.
type Allocation struct {
	Subnet  netip.Prefix `json:"subnet"`
	IP      netip.Addr   `json:"ip"`
	Gateway netip.Addr   `json:"gateway"`
}

// Pool is the allocation state: the dynamic range and, per subnet in use,
// the IPs taken.
type Pool struct {
	Dynamic   netip.Prefix                  `json:"dynamic"`
	Allocated map[netip.Prefix][]netip.Addr `json:"allocated"`
}

// NewPool returns an empty pool over the dynamic range.
func NewPool(dynamic netip.Prefix) (*Pool, error) {
	if !dynamic.Addr().Is4() || dynamic.Bits() > dynamicBits || dynamic != dynamic.Masked() {
		return nil, fmt.Errorf("network pool %s: want an IPv4 network of /30 or larger: %w", dynamic, errkind.InvalidSpec)
	}
	return &Pool{Dynamic: dynamic, Allocated: map[netip.Prefix][]netip.Addr{}}, nil
}

// Capacity is how many dynamic subnets the pool holds.
func (p *Pool) Capacity() int { return 1 << (dynamicBits - p.Dynamic.Bits()) }

// Acquire allocates what req asks for. Errors: errkind.PoolExhausted (no
// dynamic subnet or no IP left), errkind.InvalidSpec (a static subnet that
// overlaps the dynamic range or partly overlaps another subnet; an IP
// outside its subnet, or its network, gateway or broadcast address; an IP
// already taken).
func (p *Pool) Acquire(req Request) (Allocation, error) {
	subnet := req.Subnet
	if !subnet.IsValid() {
		var ok bool
		if subnet, ok = p.freeDynamic(); !ok {
			return Allocation{}, fmt.Errorf("insufficient subnets remaining in the pool %s: %w", p.Dynamic, errkind.PoolExhausted)
		}
	} else if err := p.checkStatic(subnet); err != nil {
		return Allocation{}, err
	}
	ip := req.IP
	if !ip.IsValid() {
		var ok bool
		if ip, ok = p.freeIP(subnet); !ok {
			return Allocation{}, fmt.Errorf("no IP left in subnet %s: %w", subnet, errkind.PoolExhausted)
		}
	} else if err := p.checkIP(subnet, ip); err != nil {
		return Allocation{}, err
	}
	p.Allocated[subnet] = append(p.Allocated[subnet], ip)
	return Allocation{Subnet: subnet, IP: ip, Gateway: gateway(subnet)}, nil
}

// Release returns a's IP; the subnet is free once its last IP is
// released, which lastInSubnet reports (its bridge can go then).
// Releasing what is not allocated does nothing.
func (p *Pool) Release(a Allocation) (lastInSubnet bool) {
	ips, ok := p.Allocated[a.Subnet]
	if !ok {
		return false
	}
	ips = slices.DeleteFunc(ips, func(ip netip.Addr) bool { return ip == a.IP })
	if len(ips) == 0 {
		delete(p.Allocated, a.Subnet)
		return true
	}
	p.Allocated[a.Subnet] = ips
	return false
}

// freeDynamic is the first /30 of the dynamic range not in use.
func (p *Pool) freeDynamic() (netip.Prefix, bool) {
	addr := p.Dynamic.Addr()
	for range p.Capacity() {
		s := netip.PrefixFrom(addr, dynamicBits)
		if _, used := p.Allocated[s]; !used {
			return s, true
		}
		addr = add(addr, 4)
	}
	return netip.Prefix{}, false
}

func (p *Pool) checkStatic(s netip.Prefix) error {
	if s.Overlaps(p.Dynamic) {
		return fmt.Errorf("the requested subnet (%s) overlaps the dynamic allocation range (%s): %w", s, p.Dynamic, errkind.InvalidSpec)
	}
	for other := range p.Allocated {
		if other != s && other.Overlaps(s) {
			return fmt.Errorf("the requested subnet (%s) overlaps an existing subnet (%s): %w", s, other, errkind.InvalidSpec)
		}
	}
	return nil
}

func (p *Pool) checkIP(s netip.Prefix, ip netip.Addr) error {
	switch {
	case !s.Contains(ip):
		return fmt.Errorf("the requested IP %s is not in subnet %s: %w", ip, s, errkind.InvalidSpec)
	case ip == s.Addr():
		return fmt.Errorf("the requested IP %s is the network address of %s: %w", ip, s, errkind.InvalidSpec)
	case ip == gateway(s):
		return fmt.Errorf("the requested IP %s is the gateway of %s: %w", ip, s, errkind.InvalidSpec)
	case ip == broadcast(s):
		return fmt.Errorf("the requested IP %s is the broadcast address of %s: %w", ip, s, errkind.InvalidSpec)
	case slices.Contains(p.Allocated[s], ip):
		return fmt.Errorf("the requested IP %s is already allocated: %w", ip, errkind.InvalidSpec)
	}
	return nil
}

// freeIP is the first host address of s after the gateway not taken.
func (p *Pool) freeIP(s netip.Prefix) (netip.Addr, bool) {
	for ip := add(gateway(s), 1); ip != broadcast(s) && s.Contains(ip); ip = ip.Next() {
		if !slices.Contains(p.Allocated[s], ip) {
			return ip, true
		}
	}
	return netip.Addr{}, false
}

func gateway(s netip.Prefix) netip.Addr { return s.Addr().Next() }

func broadcast(s netip.Prefix) netip.Addr {
	a := s.Addr().As4()
	host := uint32(1)<<(32-s.Bits()) - 1
	v := (uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3])) | host
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

func add(a netip.Addr, n uint32) netip.Addr {
	b := a.As4()
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3]) + n
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}
