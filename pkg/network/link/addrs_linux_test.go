package link

import (
	"net"
	"runtime"
	"testing"

	"github.com/gdn-dev/gdn/pkg/testutil"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// addrsOf lists one link's addresses, not its neighbours', in a network
// namespace of the test's own.
func TestAddrsOfOneLink(t *testing.T) {
	testutil.RequireRoot(t)
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	host, err := netns.Get()
	if err != nil {
		t.Fatal(err)
	}
	defer host.Close()
	ns, err := netns.New()
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	defer func() { _ = netns.Set(host) }()
	var idx []int
	for i, ip := range []string{"10.99.0.1/30", "10.99.0.5/30"} {
		d := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: "b" + string(rune('0'+i))}}
		if err := netlink.LinkAdd(d); err != nil {
			t.Fatal(err)
		}
		l, err := netlink.LinkByName(d.Name)
		if err != nil {
			t.Fatal(err)
		}
		a, _ := netlink.ParseAddr(ip)
		if err := netlink.AddrAdd(l, a); err != nil {
			t.Fatal(err)
		}
		idx = append(idx, l.Attrs().Index)
	}
	addrs, err := addrsOf(idx[1])
	if err != nil {
		t.Fatal(err)
	}
	if len(addrs) != 1 || !addrs[0].IP.Equal(net.ParseIP("10.99.0.5")) || addrs[0].LinkIndex != idx[1] {
		t.Fatalf("addresses of the second link: %v", addrs)
	}
	if ones, _ := addrs[0].Mask.Size(); ones != 30 {
		t.Errorf("mask /%d, want /30", ones)
	}
}
