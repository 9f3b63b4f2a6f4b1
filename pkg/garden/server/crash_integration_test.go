package server_test

import (
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gdn-dev/gdn/pkg/crash"
	"github.com/gdn-dev/gdn/pkg/depot"
	"github.com/gdn-dev/gdn/pkg/garden"
	"github.com/gdn-dev/gdn/pkg/garden/client"
	"github.com/gdn-dev/gdn/pkg/gardener"
	"github.com/gdn-dev/gdn/pkg/leakcheck"
	"github.com/gdn-dev/gdn/pkg/network"
	"github.com/gdn-dev/gdn/pkg/process"
	"github.com/gdn-dev/gdn/pkg/rootfs"
	"github.com/gdn-dev/gdn/pkg/runtime"
)

// crashPoints are the steps a crash test kills at: the server's own and
// those of every tool it runs (and of dadoo, which gdn-run starts).
// The server creates rootfs --without-mount, so gdn-rootfs's points of
// a mount on the host are not on its path (bats/rootfs.bats kills
// gdn-rootfs at each of them).
func crashPoints() []string {
	points := slices.Concat(gardener.CrashPoints, rootfs.CrashPoints, depot.CrashPoints, runtime.CrashPoints,
		network.CrashPoints, process.CrashPoints)
	return slices.DeleteFunc(points, func(p string) bool { return slices.Contains(rootfs.HostMountCrashPoints, p) })
}

// crashEnv is the GDN_TEST_CRASH_AT value that reaches point: most are
// on the scenario's path; a delete's handling of a half-made container
// needs the create to have died first.
func crashEnv(point string) string {
	if point == "gdn-run.delete.orphan-cgroup" {
		return "gdn-run.create.cgroup," + point
	}
	return point
}

// startWithCrashAt (re)starts the server with the tools (and the server
// itself) told to die at point, each noting in reachedLog the step it
// died at.
func (g *gdn) startWithCrashAt(point, reachedLog string) {
	saved := g.env
	g.env = append(slices.Clip(g.env), crash.Env+"="+crashEnv(point), crash.LogEnv+"="+reachedLog)
	defer func() { g.env = saved }()
	g.start()
}

// For every step of create, net-in, run and destroy, in the server and in
// each tool: die there (SIGKILL), recover as an operator would (server
// start, then a second destroy of what is still listed), and check that
// nothing is left but the neighbour, which still works.
func TestCrashAtEveryStepLeavesNothing(t *testing.T) {
	g := startGdn(t)
	nb := g.create(garden.ContainerSpec{Handle: "neighbour"})
	nbInfo, err := nb.Info()
	if err != nil {
		t.Fatal(err)
	}
	reachedLog := filepath.Join(g.dir, "crashes")
	points := crashPoints()
	for _, point := range points {
		began := time.Now()
		g.stop(syscall.SIGTERM)
		g.startWithCrashAt(point, reachedLog)
		victimSteps(g.client)
		g.stop(syscall.SIGKILL)
		// A step of work done in the background (a detached down's
		// device deletion) is reached a little after the call returns.
		reached := func() bool {
			log, _ := os.ReadFile(reachedLog)
			return slices.Contains(strings.Fields(string(log)), point)
		}
		for deadline := time.Now().Add(5 * time.Second); !reached() && time.Now().Before(deadline); {
			time.Sleep(10 * time.Millisecond)
		}
		if !reached() {
			t.Errorf("%s: the scenario never reached this step", point)
		}
		t0 := time.Now()
		g.start()
		t.Logf("%s: crash and restart %v (restart %v)", point, time.Since(began).Round(time.Millisecond), time.Since(t0).Round(time.Millisecond))
		if hs, err := g.client.Containers(garden.Properties{"garden.state": "all"}); err == nil {
			for _, c := range hs {
				if c.Handle() != "neighbour" {
					if err := g.client.Destroy(c.Handle()); err != nil {
						t.Errorf("%s: second destroy of %s: %v", point, c.Handle(), err)
					}
				}
			}
		}
		for _, leak := range g.leftovers("neighbour") {
			t.Errorf("%s: left behind: %s", point, leak)
		}
		if status, out, _ := run(t, nb, "", "/bin/echo", "ok"); status != 0 || out != "ok\n" {
			t.Errorf("%s: the neighbour's process: %d %q", point, status, out)
		}
		if out, err := exec.Command("busybox", "ping", "-c1", "-W2", nbInfo.ContainerIP).CombinedOutput(); err != nil {
			t.Errorf("%s: the neighbour's network: %v: %s", point, err, out)
		}
	}
}

// victimSteps is the scenario each crash test runs: create (with a
// bandwidth limit, so that its devices are made too), net-in, run,
// destroy of one container. Errors are expected (something dies).
func victimSteps(gc client.Client) {
	c, err := gc.Create(garden.ContainerSpec{Handle: "victim", Limits: garden.Limits{
		Bandwidth: garden.BandwidthLimits{RateInBytesPerSecond: 1 << 20, BurstRateInBytesPerSecond: 1 << 20},
	}})
	if err != nil {
		return
	}
	_, _, _ = c.NetIn(0, 8080)
	if p, err := c.Run(garden.ProcessSpec{Path: "/bin/true"}, client.ProcessIO{}); err == nil {
		_, _ = p.Wait()
	}
	_ = gc.Destroy("victim")
}

// leftovers lists what of the test's instance (both stores) is left that
// is not one of except's containers, as the leak checker sees it.
func (g *gdn) leftovers(except ...string) []string {
	var out []string
	for _, inst := range []leakcheck.Instance{g.leaks(), {Store: filepath.Join(g.dir, "store-privileged")}} {
		leaks, err := inst.Except(except...).Check()
		if err != nil {
			out = append(out, "leak check: "+err.Error())
		}
		for _, l := range leaks {
			out = append(out, l.String())
		}
	}
	return out
}

// The server killed (kill -9) at random moments while clients create,
// run and destroy: after each restart every acknowledged create that was
// not destroyed is there and whole (it runs a process), every
// acknowledged destroy stays gone, and in the end nothing is left.
func TestKill9UnderLoadLosesNothingAcknowledged(t *testing.T) {
	const clients, kills = 3, 5
	g := startGdn(t)
	var (
		mu        sync.Mutex
		live      = map[string]bool{} // acknowledged creates not destroyed
		destroyed = map[string]bool{} // acknowledged destroys
		seq       int
	)
	for k := range kills {
		stop := make(chan struct{})
		var wg sync.WaitGroup
		gc := g.client
		for range clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					select {
					case <-stop:
						return
					default:
					}
					mu.Lock()
					seq++
					h := fmt.Sprintf("load-%d", seq)
					mu.Unlock()
					c, err := gc.Create(garden.ContainerSpec{Handle: h})
					if err != nil {
						continue
					}
					mu.Lock()
					live[h] = true
					mu.Unlock()
					if p, err := c.Run(garden.ProcessSpec{Path: "/bin/true"}, client.ProcessIO{}); err == nil {
						_, _ = p.Wait()
					}
					if rand.IntN(3) > 0 { // keep some alive across kills
						err := gc.Destroy(h)
						mu.Lock()
						// A destroy the kill cut short may or may not
						// have happened: only an acknowledged one is
						// promised.
						delete(live, h)
						if err == nil {
							destroyed[h] = true
						}
						mu.Unlock()
					}
				}
			}()
		}
		time.Sleep(time.Duration(300+rand.IntN(1200)) * time.Millisecond)
		g.stop(syscall.SIGKILL)
		close(stop)
		wg.Wait()
		g.start()
		mu.Lock()
		listed, err := g.client.Containers(nil)
		if err != nil {
			t.Fatal(err)
		}
		have := map[string]client.Container{}
		for _, c := range listed {
			have[c.Handle()] = c
		}
		for h := range live {
			c, ok := have[h]
			if !ok {
				t.Errorf("kill %d: acknowledged container %s is gone", k, h)
				continue
			}
			if status, _, _ := run(t, c, "", "/bin/true"); status != 0 {
				t.Errorf("kill %d: %s is not whole: run exited %d", k, h, status)
			}
		}
		for h := range destroyed {
			if _, ok := have[h]; ok {
				t.Errorf("kill %d: destroyed container %s is back", k, h)
			}
		}
		t.Logf("kill %d: %d containers live, %d destroyed so far, %d listed", k, len(live), len(destroyed), len(listed))
		mu.Unlock()
	}
	// What a killed create left (never acknowledged) the restarts
	// removed; destroy the rest and the harness checks nothing is left.
	hs, _ := g.client.Containers(garden.Properties{"garden.state": "all"})
	for _, c := range hs {
		if err := g.client.Destroy(c.Handle()); err != nil {
			t.Errorf("final destroy %s: %v", c.Handle(), err)
		}
	}
	for _, leak := range g.leftovers() {
		t.Errorf("left behind: %s", leak)
	}
}
