package network

import (
	"context"
	"fmt"
	"net/netip"
	"sync"
	"testing"
)

// churn runs workers loops of cycles up -> check -> down in parallel, each
// worker a Networker of its own (its own lock fds, as separate gdn-net
// processes have) and a stand-in container of its own, all on one state
// dir, table and pool. Every up that succeeds must leave a complete
// network (see complete). It returns the broken ups and the failed calls.
func churn(t *testing.T, name, network string, workers, cycles int) (broken, failed int) {
	return churnDown(t, name, network, workers, cycles, false)
}

// churnDown is churn, with detached downs if detach is set.
func churnDown(t *testing.T, name, network string, workers, cycles int, detach bool) (broken, failed int) {
	table := testTable(t, name)
	cfg := Config{StateDir: t.TempDir(), Pool: netip.MustParsePrefix("10.253.64.0/27"), Table: table}
	var mu sync.Mutex
	var wg sync.WaitGroup
	ctx := context.Background()
	for w := range workers {
		n := newTestNetworker(t, cfg)
		pid := standin(t)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range cycles {
				h := fmt.Sprintf("churn-%d-%d", w, i)
				st, err := n.Up(ctx, h, UpSpec{Pid: pid, Network: network})
				if err != nil {
					mu.Lock()
					failed++
					t.Logf("up %s: %v", h, err)
					mu.Unlock()
				} else if err := complete(table, st); err != nil {
					mu.Lock()
					broken++
					t.Logf("up %s succeeded, but: %v", h, err)
					mu.Unlock()
				}
				down := func() (bool, error) { return n.Down(ctx, h) }
				if detach {
					down = func() (bool, error) { return n.DownDetached(ctx, h, reaperArgv(cfg)) }
				}
				if _, err := down(); err != nil {
					mu.Lock()
					failed++
					t.Logf("down %s: %v", h, err)
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	if detach {
		waitDrained(t, newTestNetworker(t, cfg))
	}
	return broken, failed
}

// TestChurnDynamic: 4 x 50 up/down cycles on dynamic /30s. A subnet goes
// back to the pool only once its bridge and rules are gone, so a
// concurrent up that gets it never has its devices deleted under it.
func TestChurnDynamic(t *testing.T) {
	broken, failed := churn(t, "churn_dyn", "", 4, 50)
	t.Logf("dynamic /30s: %d of 200 ups broken, %d calls failed", broken, failed)
	if broken+failed > 0 {
		t.Errorf("dynamic /30s: %d of 200 ups broken, %d calls failed", broken, failed)
	}
}

// TestChurnSharedStatic: 4 x 50 up/down cycles of containers sharing one
// static /24: one container's down, the subnet's last, must not delete
// the bridge or masquerade rule another container's up is joining.
func TestChurnSharedStatic(t *testing.T) {
	broken, failed := churn(t, "churn_static", "10.253.72.0/24", 4, 50)
	t.Logf("shared static /24: %d of 200 ups broken, %d calls failed", broken, failed)
	if broken+failed > 0 {
		t.Errorf("shared static /24: %d of 200 ups broken, %d calls failed", broken, failed)
	}
}

// TestChurnDetached is both churns with detached downs: a subnet (or the
// shared subnet's bridge) goes back only once a background child has
// deleted its devices, so no up ever gets devices deleted under it.
func TestChurnDetached(t *testing.T) {
	for _, c := range []struct{ name, network string }{{"dynamic", ""}, {"static", "10.253.72.0/24"}} {
		t.Run(c.name, func(t *testing.T) {
			broken, failed := churnDown(t, "churn_det_"+c.name, c.network, 4, 40, true)
			t.Logf("%s, detached downs: %d of 160 ups broken, %d calls failed", c.name, broken, failed)
			if broken+failed > 0 {
				t.Errorf("%s, detached downs: %d of 160 ups broken, %d calls failed", c.name, broken, failed)
			}
		})
	}
}
