package network

import (
	"context"
	"net/netip"
	"strings"
	"testing"

	"github.com/gdn-dev/gdn/pkg/errkind"
)

// A host port maps to one container: an explicit port another container
// maps is refused (in the pool or outside it), "pick one" skips ports
// taken explicitly, and a port is free again once its container is down.
// The same container may map a port twice, as in the reference.
func TestNetInHostPortBelongsToOneContainer(t *testing.T) {
	ctx := context.Background()
	n := newTestNetworker(t, Config{StateDir: t.TempDir(), Pool: netip.MustParsePrefix("10.253.132.0/28"),
		Table: testTable(t, "netin"), PortStart: 40600, PortSize: 3, ExternalIP: netip.MustParseAddr("192.0.2.1")})
	for _, h := range []string{"a", "b"} {
		if _, err := n.Up(ctx, h, UpSpec{Pid: standin(t)}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _, _ = n.Down(ctx, h) })
	}
	netIn := func(h string, hostPort, containerPort uint32) (PortMap, error) {
		t.Helper()
		return n.NetIn(h, hostPort, containerPort)
	}
	mapped := func(h string) []PortMap {
		t.Helper()
		st, err := n.Show(h)
		if err != nil {
			t.Fatal(err)
		}
		return st.MappedPorts
	}
	if _, err := netIn("a", 40601, 80); err != nil {
		t.Fatal(err)
	}
	if _, err := netIn("a", 40601, 81); err != nil {
		t.Fatalf("the same container mapping its port again: %v", err)
	}
	if _, err := netIn("a", 50000, 0); err != nil {
		t.Fatalf("a port outside the pool: %v", err)
	}
	for _, p := range []uint32{40601, 50000} {
		_, err := netIn("b", p, 80)
		if errkind.Of(err) != errkind.InvalidSpec || !strings.Contains(err.Error(), `already mapped to container "a"`) {
			t.Fatalf("b maps a's port %d: %v, want InvalidSpec naming a", p, err)
		}
	}
	if m := mapped("b"); len(m) != 0 {
		t.Fatalf("refused mappings were recorded: %+v", m)
	}
	var picked []uint32
	for range 2 {
		m, err := netIn("b", 0, 80)
		if err != nil {
			t.Fatal(err)
		}
		picked = append(picked, m.HostPort)
	}
	if picked[0] != 40600 || picked[1] != 40602 {
		t.Fatalf("picked %v, want 40600 and 40602 (40601 is a's)", picked)
	}
	if _, err := netIn("b", 0, 80); errkind.Of(err) != errkind.PoolExhausted {
		t.Fatalf("pool of 3 with 3 ports mapped: %v, want PoolExhausted", err)
	}
	if _, err := n.Down(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if _, err := netIn("b", 40601, 80); err != nil {
		t.Fatalf("a's port after a went down: %v", err)
	}
	if _, err := netIn("b", 50000, 80); err != nil {
		t.Fatalf("a's outside port after a went down: %v", err)
	}
	if m := mapped("b"); len(m) != 4 {
		t.Fatalf("b's mappings %+v, want 4", m)
	}
}
