package server_test

import (
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/gdn-dev/gdn/pkg/garden"
)

// churnCycles is each client's number of create/check/destroy cycles
// (GDN_CHURN_CYCLES overrides it, e.g. for a longer run by hand).
func churnCycles(t *testing.T) int {
	if v := os.Getenv("GDN_CHURN_CYCLES"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("GDN_CHURN_CYCLES=%q", v)
		}
		return n
	}
	return 100
}

// Clients creating and destroying containers in parallel, as a scheduler
// does all day: every create that succeeds must hand out a complete
// network (its IP answers from the host through its gateway, its subnet
// is masqueraded), and nothing may fail.
func TestChurnEveryCreatedContainerHasItsNetwork(t *testing.T) {
	const clients = 4
	cycles := churnCycles(t)
	g := startGdn(t)
	table := ""
	for _, kv := range g.env {
		if v, ok := strings.CutPrefix(kv, "GDN_NET_TABLE="); ok {
			table = v
		}
	}
	var (
		mu            sync.Mutex
		broken, fails int
		wg            sync.WaitGroup
	)
	report := func(counter *int, format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		*counter++
		if *counter <= 10 {
			t.Logf(format, args...)
		}
	}
	for w := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range cycles {
				h := fmt.Sprintf("churn-%d-%d", w, i)
				c, err := g.client.Create(garden.ContainerSpec{Handle: h})
				if err != nil {
					report(&fails, "create %s: %v", h, err)
					continue
				}
				if why := checkNetwork(c, table); why != "" {
					report(&broken, "%s was created with a broken network: %s", h, why)
				}
				if err := g.client.Destroy(h); err != nil {
					report(&fails, "destroy %s: %v", h, err)
				}
			}
		}()
	}
	wg.Wait()
	t.Logf("churn: %d clients x %d cycles: %d broken networks, %d failed calls", clients, cycles, broken, fails)
	if broken+fails > 0 {
		t.Fatalf("churn: %d of %d creates had a broken network, %d calls failed", broken, clients*cycles, fails)
	}
}

// checkNetwork returns what is wrong with c's network, or "".
func checkNetwork(c interface {
	Info() (garden.ContainerInfo, error)
}, table string) string {
	info, err := c.Info()
	if err != nil {
		return "info: " + err.Error()
	}
	ip, err := netip.ParseAddr(info.ContainerIP)
	if err != nil {
		return fmt.Sprintf("container ip %q", info.ContainerIP)
	}
	if out, err := exec.Command("busybox", "ping", "-c1", "-W2", ip.String()).CombinedOutput(); err != nil {
		return fmt.Sprintf("ping %s from the host: %v: %s", ip, err, out)
	}
	if out, _ := exec.Command("ip", "-o", "addr", "show", "to", info.HostIP).Output(); !strings.Contains(string(out), "wbrdg-") {
		return fmt.Sprintf("gateway %s is on no bridge: %q", info.HostIP, out)
	}
	subnet, _ := ip.Prefix(30)
	if out, _ := exec.Command("nft", "list", "table", "ip", table).Output(); !strings.Contains(string(out), subnet.String()) {
		return fmt.Sprintf("no rule of table %s names subnet %s", table, subnet)
	}
	return ""
}
