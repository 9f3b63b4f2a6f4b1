package network

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/gdn-dev/gdn/pkg/network/link"
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

// Cleanup removes the networks of containers that are gone (their
// namespace died, and the veth pair with it) and devices of gdn's that no
// state names (a crash between making a device and recording it cannot
// happen, since state is written first; this covers lost state files).
// It returns what it removed.
func (n *Networker) Cleanup(ctx context.Context) ([]string, error) {
	removed := []string{}
	hs, err := n.List()
	if err != nil {
		return nil, err
	}
	known := map[string]bool{}
	for _, h := range hs {
		st, err := n.load(h)
		if err != nil {
			continue
		}
		if _, err := netlink.LinkByName(st.HostIf); err != nil {
			if _, err := n.Down(ctx, h); err == nil {
				removed = append(removed, "network of "+h)
			}
			continue
		}
		known[st.HostIf], known[st.Bridge] = true, true
	}
	links, err := netlink.LinkList()
	if err != nil {
		return removed, err
	}
	for _, l := range links {
		name := l.Attrs().Name
		ours := strings.HasPrefix(name, "wbrdg-") || (strings.HasPrefix(name, "w") && strings.HasSuffix(name, "-0") && len(name) == 14)
		if ours && !known[name] && !slices.Contains(removed, name) {
			if netlink.LinkDel(l) == nil {
				removed = append(removed, "device "+name)
			}
		}
	}
	return removed, nil
}
