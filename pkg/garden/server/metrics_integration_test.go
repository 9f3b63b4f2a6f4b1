package server_test

import (
	"bufio"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gdn-dev/gdn/pkg/garden"
)

// scrape fetches /metrics from the debug server at addr and returns each
// sample by its series as printed (`name{label="v",...}`), and how long
// the scrape took.
func scrape(t *testing.T, addr string) (map[string]float64, time.Duration) {
	t.Helper()
	start := time.Now()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("metrics line %q: %v", line, err)
		}
		out[line[:i]] = v
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out, time.Since(start)
}

// startWithMetrics starts a server whose debug server listens on a free
// loopback port, with network metrics on and per-container values at most
// maxAge old, and returns it with the debug address.
func startWithMetrics(t *testing.T, maxAge time.Duration, extra ...string) (*gdn, string) {
	t.Helper()
	port := freePort(t)
	g := startGdn(t, append([]string{"--debug-bind-ip", "127.0.0.1", "--debug-bind-port", port,
		"--enable-container-network-metrics", "--container-metrics-max-age", maxAge.String()}, extra...)...)
	return g, "127.0.0.1:" + port
}

// TestMetricsPerContainerAndTools scrapes /metrics with real containers
// and checks every series the operator graphs.
func TestMetricsPerContainerAndTools(t *testing.T) {
	g, addr := startWithMetrics(t, 200*time.Millisecond)
	c1 := g.create(garden.ContainerSpec{Handle: "met1", Limits: garden.Limits{
		Memory: garden.MemoryLimits{LimitInBytes: 64 << 20}, Pid: garden.PidLimits{Max: 50}}})
	g.create(garden.ContainerSpec{Handle: "met2"})
	if status, _, _ := run(t, c1, "", "/bin/sh", "-c", "dd if=/dev/zero of=/tmp/f bs=1M count=3 2>/dev/null; i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done"); status != 0 {
		t.Fatalf("run: status %d", status)
	}
	// A create the image plugin fails (nothing listens on port 1), and
	// one the server refuses (the handle is taken).
	if _, err := g.client.Create(garden.ContainerSpec{Handle: "metbad", Image: garden.ImageRef{URI: "docker://127.0.0.1:1/nope:latest"}}); err == nil {
		t.Fatal("create from a registry that is not there succeeded")
	}
	if _, err := g.client.Create(garden.ContainerSpec{Handle: "met2"}); err == nil {
		t.Fatal("second create of met2 succeeded")
	}
	if err := g.client.Destroy("met2"); err != nil {
		t.Fatal(err)
	}
	// A container whose grace time expires is a destroy too.
	g.create(garden.ContainerSpec{Handle: "metreap", GraceTime: 300 * time.Millisecond})
	for start := time.Now(); ; time.Sleep(50 * time.Millisecond) {
		if _, err := g.client.Lookup("metreap"); err != nil {
			break
		}
		if time.Since(start) > 15*time.Second {
			t.Fatal("metreap was not reaped")
		}
	}

	var m map[string]float64
	deadline := time.Now().Add(15 * time.Second)
	for {
		m, _ = scrape(t, addr)
		_, stale := m[`gdn_container_pids{handle="met2"}`]
		// The reaper's destroy finishes after metreap leaves the list.
		if _, ok := m[`gdn_container_pids{handle="met1"}`]; ok && !stale && m["gdn_container_destroys_total"] == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no fresh per-container series after 15 s: %v", keys(m, "gdn_container_"))
		}
		time.Sleep(100 * time.Millisecond)
	}
	// The tool runs of that gathering show in the next scrape (the
	// registry reads the tool histograms while the gathering runs).
	tools, _ := scrape(t, addr)
	for k, v := range tools {
		if strings.HasPrefix(k, "gdn_tool_") {
			m[k] = v
		}
	}
	h := `{handle="met1"}`
	for _, c := range []struct {
		series string
		ok     func(v float64) bool
		want   string
	}{
		{"gdn_container_memory_usage_bytes" + h, func(v float64) bool { return v > 0 }, "> 0"},
		{"gdn_container_memory_limit_bytes" + h, func(v float64) bool { return v == 64<<20 }, "64 MiB"},
		{"gdn_container_cpu_usage_seconds_total" + h, func(v float64) bool { return v > 0 }, "> 0"},
		{"gdn_container_pids" + h, func(v float64) bool { return v >= 1 }, ">= 1 (the init)"},
		{"gdn_container_pids_limit" + h, func(v float64) bool { return v == 50 }, "50"},
		{"gdn_container_disk_usage_bytes" + h, func(v float64) bool { return v >= 3<<20 }, ">= 3 MiB (the file written)"},
		{"gdn_container_disk_exclusive_bytes" + h, func(v float64) bool { return v >= 3<<20 }, ">= 3 MiB"},
		{"gdn_container_network_receive_bytes_total" + h, func(v float64) bool { return v >= 0 }, "present"},
		{"gdn_container_network_transmit_bytes_total" + h, func(v float64) bool { return v >= 0 }, "present"},
		{"gdn_container_metrics_age_seconds", func(v float64) bool { return v < 15 }, "< 15 s"},
		{"gdn_container_creates_total", func(v float64) bool { return v == 3 }, "3"},
		{"gdn_container_destroys_total", func(v float64) bool { return v == 2 }, "2 (one reaped)"},
		{`gdn_container_create_failures_total{stage="gdn-rootfs create"}`, func(v float64) bool { return v == 1 }, "1 (image not found)"},
		{`gdn_container_create_failures_total{stage="server"}`, func(v float64) bool { return v == 1 }, "1 (handle in use)"},
		{`gdn_tool_run_duration_seconds_count{command="create",tool="gdn-rootfs"}`, func(v float64) bool { return v >= 3 }, ">= 3"},
		{`gdn_tool_run_duration_seconds_count{command="up",tool="gdn-net"}`, func(v float64) bool { return v == 3 }, "3"},
		{`gdn_tool_run_duration_seconds_count{command="stats",tool="gdn-run"}`, func(v float64) bool { return v >= 1 }, ">= 1"},
		{`gdn_tool_failures_total{command="create",kind="ImageNotFound",tool="gdn-rootfs"}`, func(v float64) bool { return v == 1 }, "1"},
	} {
		v, ok := m[c.series]
		if !ok || !c.ok(v) {
			t.Errorf("%s = %v (present %v), want %s", c.series, v, ok, c.want)
		}
	}
	var build bool
	for k, v := range m {
		if strings.HasPrefix(k, "gdn_build_info{") && strings.Contains(k, `version="`) && !strings.Contains(k, `version=""`) && !strings.Contains(k, `version="unknown"`) && v == 1 {
			build = true
		}
	}
	if !build {
		t.Errorf("no gdn_build_info with a version: %v", keys(m, "gdn_build_info"))
	}
	if t.Failed() {
		t.Logf("series: %v", append(keys(m, "gdn_container"), keys(m, "gdn_build")...))
	}
}

func keys(m map[string]float64, prefix string) []string {
	var out []string
	for k := range m {
		if strings.HasPrefix(k, prefix) {
			out = append(out, k)
		}
	}
	return out
}

// TestMetricsScrapeCost measures /metrics with GDN_METRICS_CONTAINERS
// live containers (default 20; the figure in the notes is 250): the first
// scrape, which waits for every container to be asked about, and later
// ones, which are answered from the last gathering while a new one runs.
func TestMetricsScrapeCost(t *testing.T) {
	n := 20
	if v, err := strconv.Atoi(os.Getenv("GDN_METRICS_CONTAINERS")); err == nil && v > 0 {
		n = v
	}
	g, addr := startWithMetrics(t, 5*time.Second)
	// A /22 of the test's slot holds 256 subnets: room for 250
	// containers (the harness's /26 has 16). No container exists yet.
	g.stop(syscall.SIGTERM)
	for i, a := range g.args {
		if a == "--network-pool" {
			g.args[i+1] = g.addr("0.0/22")
		}
	}
	g.start()
	createStart := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	sem := make(chan struct{}, 4)
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			// gdn-net up can fail under parallel creates with netlink's
			// "dump interrupted" (results may be incomplete): a known
			// gdn-net weakness this test does not measure, so retry.
			var err error
			for range 3 {
				if _, err = g.client.Create(garden.ContainerSpec{Handle: fmt.Sprintf("cost%d", i)}); err == nil ||
					!strings.Contains(err.Error(), "results may be incomplete") {
					break
				}
				t.Logf("retrying cost%d: %v", i, err)
			}
			if err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("create: %v", err)
	}
	t.Logf("%d containers created in %v", n, time.Since(createStart).Round(time.Millisecond))

	m, first := scrape(t, addr)
	series := len(keys(m, "gdn_container_pids{"))
	if series != n {
		t.Errorf("first scrape: %d containers' series, want %d", series, n)
	}
	gather := m["gdn_container_metrics_gather_duration_seconds"]
	var worst time.Duration
	var later map[string]float64
	for range 10 {
		var d time.Duration
		later, d = scrape(t, addr)
		worst = max(worst, d)
		time.Sleep(time.Second)
	}
	t.Logf("%d containers: first scrape %v (gathering %.2fs), later scrapes at most %v; last background gathering %.2fs, %d failed",
		n, first.Round(time.Millisecond), gather, worst.Round(time.Millisecond),
		later["gdn_container_metrics_gather_duration_seconds"], int(later["gdn_container_metrics_gather_failures"]))
	if worst > time.Second {
		t.Errorf("a scrape after the first took %v, want under 1 s", worst)
	}
}
