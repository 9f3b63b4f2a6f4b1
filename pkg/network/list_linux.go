package network

import (
	"context"
	"fmt"
	"maps"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/gdn-dev/gdn/pkg/flock"
	"github.com/gdn-dev/gdn/pkg/network/link"
	"github.com/gdn-dev/gdn/pkg/network/nft"
	"github.com/gdn-dev/gdn/pkg/network/port"
	"github.com/gdn-dev/gdn/pkg/network/subnet"
	"github.com/vishvananda/netlink"
)

// List returns the handles that have a network.
func (n *Networker) List() ([]string, error) {
	entries, err := os.ReadDir(filepath.Join(n.cfg.StateDir, "containers"))
	if err != nil {
		return nil, err
	}
	hs := []string{}
	for _, e := range entries {
		if h, ok := strings.CutSuffix(e.Name(), ".json"); ok {
			hs = append(hs, h)
		}
	}
	return hs, nil
}

// Stats returns the bytes container h received and sent.
func (n *Networker) Stats(h string) (rx, tx uint64, err error) {
	st, err := n.Show(h)
	if err != nil {
		return 0, 0, err
	}
	return link.Stats(st.HostIf)
}

// Cleanup removes what no live container's network accounts for, and
// returns what it removed:
//   - the networks of containers that are gone (their namespace died, and
//     the veth pair with it), and of Ups that died halfway (kill -9);
//   - devices of this networker's (by alias, see Owner) and container
//     chains and rules in its nftables table that no state names (a lost
//     state file);
//   - allocations in the subnet and port pools that no state holds, and
//     ports in use that the pool thought free (the pools are rebuilt from
//     the states where they disagree).
//
// It holds the busy lock exclusively, so it never sees an Up in progress.
func (n *Networker) Cleanup(_ context.Context) ([]string, error) {
	busy, err := flock.Acquire(filepath.Join(n.cfg.StateDir, "busy.lock"))
	if err != nil {
		return nil, err
	}
	defer busy.Release()
	removed, err := n.reapOrphans()
	if err != nil {
		return removed, err
	}
	if removed == nil {
		removed = []string{}
	}
	states := n.states()
	for _, h := range slices.Sorted(maps.Keys(states)) {
		st := states[h]
		_, err := netlink.LinkByName(st.HostIf)
		if !st.UpInProgress && err == nil {
			continue
		}
		if _, err := n.down(h); err != nil {
			return removed, err
		}
		delete(states, h)
		if st.UpInProgress {
			removed = append(removed, "network of "+h+" (its up died halfway)")
		} else {
			removed = append(removed, "network of "+h)
		}
	}
	keep := nft.Keep{Chains: map[string]bool{}, Handles: map[string]bool{}, Bridges: map[string]bool{}, Subnets: map[netip.Prefix]bool{}}
	known := map[string]bool{}
	for h, st := range states {
		keep.Chains[st.Chain], keep.Handles[h], keep.Bridges[st.Bridge], keep.Subnets[st.Subnet] = true, true, true, true
		known[st.HostIf], known[st.Bridge], known[st.Ifb] = true, true, true
	}
	owned, err := link.Owned(n.Owner())
	if err != nil {
		return removed, err
	}
	for _, name := range slices.Sorted(maps.Keys(owned)) {
		if !known[name] && ourName(name) {
			if err := link.Delete(name, n.Owner()); err != nil {
				return removed, err
			}
			removed = append(removed, "device "+name)
		}
	}
	pruned, err := n.nft.Prune(keep)
	if err != nil {
		return removed, err
	}
	removed = append(removed, pruned...)
	freed, err := n.reconcilePools(states)
	return append(removed, freed...), err
}

// ourName tells whether a device is named as gdn-net names them: a
// bridge wbrdg-<8 hex>, or w<11 id characters>-0 (veth) or -i (ifb).
func ourName(name string) bool {
	if rest, ok := strings.CutPrefix(name, "wbrdg-"); ok {
		return len(rest) == 8
	}
	return len(name) == 14 && name[0] == 'w' && (strings.HasSuffix(name, "-0") || strings.HasSuffix(name, "-i"))
}

// reconcilePools makes the pools agree with the states: an allocation no
// state holds is freed (and reported), one a state holds is taken; the
// same for ports.
func (n *Networker) reconcilePools(states map[string]*State) ([]string, error) {
	var out []string
	want := map[netip.Prefix][]netip.Addr{}
	usedPorts := map[uint32]bool{}
	for _, st := range states {
		want[st.Subnet] = append(want[st.Subnet], st.IP)
		for _, m := range st.MappedPorts {
			usedPorts[m.HostPort] = true
		}
	}
	err := n.updateSubnets(func(p *subnet.Pool) error {
		for s, ips := range p.Allocated {
			for _, ip := range ips {
				if !slices.Contains(want[s], ip) {
					out = append(out, fmt.Sprintf("allocation %s in %s", ip, s))
				}
			}
		}
		p.Allocated = want
		return nil
	})
	if err != nil {
		return out, err
	}
	err = n.updatePorts(func(p *port.Pool) error {
		free := map[uint32]bool{}
		for _, port := range p.Free {
			free[port] = true
		}
		for port := p.Start; port < p.Start+p.Size; port++ {
			switch {
			case usedPorts[port] && free[port]:
				p.Remove(port)
			case !usedPorts[port] && !free[port]:
				p.Release(port)
				out = append(out, fmt.Sprintf("port %d", port))
			}
		}
		return nil
	})
	sort.Strings(out)
	return out, err
}
