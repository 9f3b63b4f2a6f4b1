package leakcheck

import (
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"path/filepath"
	"slices"
)

// pools reports allocations in gdn-net's subnet and port pools that no
// excepted container holds.
func (c *check) pools() error {
	if c.NetState == "" {
		return nil
	}
	var subnets struct {
		Allocated map[netip.Prefix][]netip.Addr `json:"allocated"`
	}
	serr := readPool(filepath.Join(c.NetState, "subnets.json"), &subnets)
	for s, ips := range subnets.Allocated {
		for _, ip := range ips {
			if !c.holdsIP(s, ip) {
				c.add(KindSubnet, "", fmt.Sprintf("%s in %s", ip, s))
			}
		}
	}
	var ports struct {
		Start uint32   `json:"start"`
		Size  uint32   `json:"size"`
		Free  []uint32 `json:"free"`
	}
	perr := readPool(filepath.Join(c.NetState, "ports.json"), &ports)
	for p := ports.Start; p < ports.Start+ports.Size; p++ {
		if !slices.Contains(ports.Free, p) && !c.holdsPort(p) {
			c.add(KindPort, "", fmt.Sprint(p))
		}
	}
	return errors.Join(serr, perr)
}

func readPool(path string, v any) error {
	err := readJSON(path, v)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("leakcheck: pool %s: %w", path, err)
	}
	return nil
}

func (c *check) holdsIP(s netip.Prefix, ip netip.Addr) bool {
	for _, st := range c.live {
		if st.Subnet == s && st.IP == ip {
			return true
		}
	}
	return false
}

func (c *check) holdsPort(p uint32) bool {
	for _, st := range c.live {
		for _, m := range st.MappedPorts {
			if m.HostPort == p {
				return true
			}
		}
	}
	return false
}
