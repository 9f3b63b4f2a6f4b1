package server_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/gdn-dev/gdn/pkg/garden"
	"github.com/gdn-dev/gdn/pkg/garden/client"
)

// Soak bounds: between the sample taken after the warm-up (a tenth of the
// cycles) and the last one, the server may grow by at most this much. A
// leak of one buffer, fd or goroutine per cycle shows in any run of a few
// hundred cycles; the bounds leave room for the Go runtime's own
// variation (heap growth in steps, idle HTTP connections).
const (
	soakRSSGrowth       = 24 << 20
	soakFDGrowth        = 16
	soakGoroutineGrowth = 16
)

// soakSample is the server's footprint at one moment.
type soakSample struct {
	cycle                int
	rss                  int64
	fds, goroutines      int
	heapAlloc, heapInuse uint64
}

// The server under a steady load of creates, runs and destroys from five
// clients: no call fails, no output is lost, nothing leaks (the harness's
// check runs at the end), and its memory, fds and goroutines stay flat.
// GDN_SOAK_CYCLES sets the total number of cycles: 100 in make test, 2000
// in make soak.
func TestSoakServerStaysFlat(t *testing.T) {
	const clients = 5
	total := 100
	if v := os.Getenv("GDN_SOAK_CYCLES"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < clients*10 {
			t.Fatalf("GDN_SOAK_CYCLES=%q: want a number of at least %d", v, clients*10)
		}
		total = n
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	debugPort := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	g := startGdn(t, "--debug-bind-ip", "127.0.0.1", "--debug-bind-port", strconv.Itoa(debugPort), "--log-level", "info")
	sample := func(cycle int) soakSample {
		s := soakSample{cycle: cycle}
		pid := g.cmd.Process.Pid
		status, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
		for _, line := range strings.Split(string(status), "\n") {
			if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
				kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
				s.rss = kb << 10
			}
		}
		fds, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
		s.fds = len(fds)
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/debug/vars", debugPort))
		if err != nil {
			t.Fatalf("debug vars: %v", err)
		}
		defer resp.Body.Close()
		var vars struct {
			Goroutines int `json:"numGoRoutines"`
			Mem        struct {
				HeapAlloc uint64
				HeapInuse uint64
			} `json:"memstats"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&vars); err != nil {
			t.Fatalf("debug vars: %v", err)
		}
		s.goroutines, s.heapAlloc, s.heapInuse = vars.Goroutines, vars.Mem.HeapAlloc, vars.Mem.HeapInuse
		return s
	}
	var (
		mu      sync.Mutex
		done    int
		fails   int
		samples []soakSample
		next    = make(chan int)
		wg      sync.WaitGroup
	)
	warmup := total / 10
	every := max(total/20, 1)
	go func() {
		for i := range total {
			next <- i
		}
		close(next)
	}()
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := soakCycle(g.client, fmt.Sprintf("soak-%d", i)); err != nil {
					mu.Lock()
					if fails++; fails <= 10 {
						t.Logf("cycle %d: %v", i, err)
					}
					mu.Unlock()
				}
				mu.Lock()
				done++
				if done >= warmup && (done-warmup)%every == 0 {
					samples = append(samples, sample(done))
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	samples = append(samples, sample(total))
	for _, s := range samples {
		t.Logf("after %4d cycles: rss %6.1f MiB  heap alloc %6.1f MiB  heap in use %6.1f MiB  fds %3d  goroutines %3d",
			s.cycle, float64(s.rss)/(1<<20), float64(s.heapAlloc)/(1<<20), float64(s.heapInuse)/(1<<20), s.fds, s.goroutines)
	}
	if fails > 0 {
		t.Errorf("soak: %d of %d cycles failed", fails, total)
	}
	first, last := samples[0], samples[len(samples)-1]
	if d := last.rss - first.rss; d > soakRSSGrowth {
		t.Errorf("soak: rss grew by %.1f MiB from cycle %d to %d (bound %d MiB)", float64(d)/(1<<20), first.cycle, last.cycle, soakRSSGrowth>>20)
	}
	if d := last.fds - first.fds; d > soakFDGrowth {
		t.Errorf("soak: fds grew by %d (bound %d)", d, soakFDGrowth)
	}
	if d := last.goroutines - first.goroutines; d > soakGoroutineGrowth {
		t.Errorf("soak: goroutines grew by %d (bound %d)", d, soakGoroutineGrowth)
	}
	t.Logf("soak: %d cycles, %d clients, %d failed; growth after warm-up: rss %+.1f MiB, fds %+d, goroutines %+d",
		total, clients, fails, float64(last.rss-first.rss)/(1<<20), last.fds-first.fds, last.goroutines-first.goroutines)
}

// soakCycle creates a container, runs a process in it whose output must
// come back whole, and destroys it.
func soakCycle(gc client.Client, h string) error {
	c, err := gc.Create(garden.ContainerSpec{Handle: h})
	if err != nil {
		return fmt.Errorf("create: %w", err)
	}
	var out bytes.Buffer
	p, err := c.Run(garden.ProcessSpec{Path: "/bin/echo", Args: []string{h}}, client.ProcessIO{Stdout: &out})
	if err == nil {
		var status int
		if status, err = p.Wait(); err == nil && (status != 0 || out.String() != h+"\n") {
			err = fmt.Errorf("run: status %d, output %q", status, out.String())
		}
	}
	if derr := gc.Destroy(h); derr != nil {
		return fmt.Errorf("destroy: %w", derr)
	}
	return err
}
