package subnet

import (
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/gdn-dev/gdn/pkg/errkind"
)

func pfx(s string) netip.Prefix { return netip.MustParsePrefix(s) }
func ip(s string) netip.Addr    { return netip.MustParseAddr(s) }

func TestParseRequest(t *testing.T) {
	cases := map[string]Request{
		"":              {},
		"10.80.0.6":     {Subnet: pfx("10.80.0.4/30"), IP: ip("10.80.0.6")},
		"10.80.0.0/24":  {Subnet: pfx("10.80.0.0/24")},
		"10.80.0.9/24":  {Subnet: pfx("10.80.0.0/24"), IP: ip("10.80.0.9")},
		"10.80.0.16/30": {Subnet: pfx("10.80.0.16/30")},
	}
	for in, want := range cases {
		if got, err := ParseRequest(in); err != nil || got != want {
			t.Errorf("ParseRequest(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	for _, bad := range []string{"x", "10.0.0.1/31", "10.0.0.0/33", "::1", "fd00::/64", "10.0.0"} {
		if _, err := ParseRequest(bad); errkind.Of(err) != errkind.InvalidSpec {
			t.Errorf("ParseRequest(%q) = %v, want InvalidSpec", bad, err)
		}
	}
}

func TestDynamicAllocation(t *testing.T) {
	p, _ := NewPool(pfx("10.254.0.0/28")) // four /30s
	if p.Capacity() != 4 {
		t.Fatalf("capacity %d, want 4", p.Capacity())
	}
	var got []Allocation
	for range 4 {
		a, err := p.Acquire(Request{})
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, a)
	}
	want := Allocation{Subnet: pfx("10.254.0.4/30"), IP: ip("10.254.0.6"), Gateway: ip("10.254.0.5")}
	if got[1] != want {
		t.Errorf("second allocation %+v, want %+v", got[1], want)
	}
	if _, err := p.Acquire(Request{}); errkind.Of(err) != errkind.PoolExhausted {
		t.Errorf("fifth allocation: %v, want PoolExhausted", err)
	}
	if !p.Release(got[2]) {
		t.Error("releasing a /30's only IP must free the subnet")
	}
	a, err := p.Acquire(Request{})
	if err != nil || a != got[2] {
		t.Errorf("after release: %+v, %v; want %+v again", a, err, got[2])
	}
	if p.Release(Allocation{Subnet: pfx("10.1.0.0/30"), IP: ip("10.1.0.2")}) {
		t.Error("releasing something never allocated must do nothing")
	}
}

func TestStaticSubnetsAndIPs(t *testing.T) {
	p, _ := NewPool(DefaultPool)
	shared := pfx("10.80.0.0/29")
	a, err := p.Acquire(Request{Subnet: shared})
	if err != nil || a.IP != ip("10.80.0.2") || a.Gateway != ip("10.80.0.1") {
		t.Fatalf("first in shared subnet: %+v %v", a, err)
	}
	b, err := p.Acquire(Request{Subnet: shared, IP: ip("10.80.0.5")})
	if err != nil || b.IP != ip("10.80.0.5") {
		t.Fatalf("static IP in shared subnet: %+v %v", b, err)
	}
	bad := map[string]Request{
		"taken":                {Subnet: shared, IP: ip("10.80.0.5")},
		"gateway":              {Subnet: shared, IP: ip("10.80.0.1")},
		"network":              {Subnet: shared, IP: ip("10.80.0.0")},
		"broadcast":            {Subnet: shared, IP: ip("10.80.0.7")},
		"outside":              {Subnet: shared, IP: ip("10.80.1.5")},
		"overlaps the dynamic": {Subnet: pfx("10.254.0.0/24")},
		"partial overlap":      {Subnet: pfx("10.80.0.4/30")},
	}
	for name, req := range bad {
		if _, err := p.Acquire(req); errkind.Of(err) != errkind.InvalidSpec {
			t.Errorf("%s: %v, want InvalidSpec", name, err)
		}
	}
	for range 3 { // .3 .4 .6 are left
		if _, err := p.Acquire(Request{Subnet: shared}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := p.Acquire(Request{Subnet: shared}); errkind.Of(err) != errkind.PoolExhausted {
		t.Errorf("full static subnet: %v, want PoolExhausted", err)
	}
	if p.Release(a) {
		t.Error("a shared subnet with IPs left is not free")
	}
}

func TestFileSurvivesAndSerialisesProcesses(t *testing.T) {
	path := filepath.Join(t.TempDir(), "subnets.json")
	const procs = 12
	cmds := make([]*exec.Cmd, procs)
	for i := range cmds {
		cmds[i] = exec.Command(os.Args[0], "-test.run=^TestHelperAcquire$")
		cmds[i].Env = append(os.Environ(), "GDN_SUBNET_FILE="+path)
	}
	for _, c := range cmds {
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range cmds {
		if err := c.Wait(); err != nil {
			t.Fatalf("helper: %v", err)
		}
	}
	seen := map[netip.Prefix]bool{}
	err := Update(path, DefaultPool, nil, func(p *Pool) error {
		for s, ips := range p.Allocated {
			if len(ips) != 1 || seen[s] {
				return fmt.Errorf("subnet %s allocated %d times", s, len(ips))
			}
			seen[s] = true
		}
		return nil
	})
	if err != nil || len(seen) != procs {
		t.Fatalf("%d distinct subnets from %d processes (%v)", len(seen), procs, err)
	}
}

// TestHelperAcquire is run as a separate process by the test above.
func TestHelperAcquire(t *testing.T) {
	path := os.Getenv("GDN_SUBNET_FILE")
	if path == "" {
		t.Skip("helper process only")
	}
	err := Update(path, DefaultPool, nil, func(p *Pool) error {
		_, err := p.Acquire(Request{})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestUpdateRebuildsALostOrCorruptFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "subnets.json")
	held := Allocation{Subnet: pfx("10.254.0.0/30"), IP: ip("10.254.0.2")}
	rebuilt := 0
	rebuild := func(p *Pool) error {
		rebuilt++
		p.Allocated[held.Subnet] = []netip.Addr{held.IP}
		return nil
	}
	acquire := func() Allocation {
		var a Allocation
		err := Update(path, DefaultPool, rebuild, func(p *Pool) error {
			var err error
			a, err = p.Acquire(Request{})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	if a := acquire(); a.Subnet == held.Subnet || rebuilt != 1 {
		t.Fatalf("missing file: got %s (rebuilt %d times), want a subnet other than %s", a.Subnet, rebuilt, held.Subnet)
	}
	if a := acquire(); a.Subnet != pfx("10.254.0.8/30") || rebuilt != 1 {
		t.Fatalf("good file: got %s (rebuilt %d times), want 10.254.0.8/30 from the file", a.Subnet, rebuilt)
	}
	if err := os.WriteFile(path, []byte("{garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	if a := acquire(); a.Subnet != pfx("10.254.0.4/30") || rebuilt != 2 {
		t.Fatalf("corrupt file: got %s (rebuilt %d times), want 10.254.0.4/30", a.Subnet, rebuilt)
	}
}
