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
				if _, err := n.Down(ctx, h); err != nil {
					mu.Lock()
					failed++
					t.Logf("down %s: %v", h, err)
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
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
