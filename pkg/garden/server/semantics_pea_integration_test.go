package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/gdn-dev/gdn/pkg/garden"
	"github.com/gdn-dev/gdn/pkg/garden/client"
	"github.com/gdn-dev/gdn/pkg/testutil"
)

// envCount is the number in env var name, or def.
func envCount(t *testing.T, name string, def int) int {
	t.Helper()
	if v := os.Getenv(name); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("%s=%q", name, v)
		}
		return n
	}
	return def
}

// lineWriter signals on ready once the first output arrives.
type lineWriter struct {
	ready chan struct{}
	once  bool
}

func (w *lineWriter) Write(b []byte) (int, error) {
	if !w.once {
		w.once = true
		close(w.ready)
	}
	return len(b), nil
}

// Destroying a container whose peas and processes still run: every
// client waiting on one of them gets 137 (killed by SIGKILL), as the
// reference's dadoo records for a process its pid namespace took down.
func TestDestroyRecords137ForRunningPeasAndProcesses(t *testing.T) {
	g := startGdn(t)
	rounds := envCount(t, "GDN_DESTROY137_ROUNDS", 5)
	failures := 0
	for r := range rounds {
		h := fmt.Sprintf("d137-%d", r)
		c := g.create(garden.ContainerSpec{Handle: h})
		var procs []client.Process
		var names []string
		for i := range 4 {
			spec := garden.ProcessSpec{Path: "/bin/sh", Args: []string{"-c", "echo up; exec sleep 1000"}}
			name := fmt.Sprintf("process %d", i)
			if i%2 == 0 {
				spec.Image = garden.ImageRef{URI: g.rootfs}
				name = fmt.Sprintf("pea %d", i)
			}
			w := &lineWriter{ready: make(chan struct{})}
			p, err := c.Run(spec, client.ProcessIO{Stdout: w})
			if err != nil {
				t.Fatalf("round %d: run %s: %v", r, name, err)
			}
			<-w.ready
			procs, names = append(procs, p), append(names, name)
		}
		if err := g.client.Destroy(h); err != nil {
			t.Fatalf("round %d: destroy: %v", r, err)
		}
		for i, p := range procs {
			if status, err := p.Wait(); err != nil || status != 137 {
				failures++
				t.Errorf("round %d: %s: Wait after destroy = %d, %v; want 137", r, names[i], status, err)
			}
		}
	}
	t.Logf("%d of %d waits failed", failures, 4*rounds)
}

// getJSON GETs path from the server and decodes the answer into v.
func (g *gdn) getJSON(path string, v any) (int, error) {
	hc := http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", g.sock)
	}}}
	resp, err := hc.Get("http://api" + path)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, err
	}
	return resp.StatusCode, json.Unmarshal(body, v)
}

// A pea is a runtime container of its own: Metrics and BulkMetrics answer
// for its process id with its own cgroup's CPU, memory and pids and its
// age, as the reference's do (its runtime's stats of that id).
func TestMetricsOfAPea(t *testing.T) {
	g := startGdn(t)
	c := g.create(garden.ContainerSpec{Handle: "pm1"})
	w := &lineWriter{ready: make(chan struct{})}
	p, err := c.Run(garden.ProcessSpec{ID: "pm1-pea", Path: "/bin/sh", Args: []string{"-c", "echo up; exec sleep 1000"},
		Image: garden.ImageRef{URI: g.rootfs}}, client.ProcessIO{Stdout: w})
	if err != nil {
		t.Fatal(err)
	}
	<-w.ready
	check := func(what string, m garden.Metrics) {
		t.Helper()
		if m.Age <= 0 || m.CPUStat.Usage == 0 || m.PidStat.Current < 1 || m.MemoryStat.TotalUsageTowardLimit == 0 {
			t.Errorf("%s of the pea: %+v", what, m)
		}
		if m.NetworkStat != nil {
			t.Errorf("%s of the pea: a network stat, but a pea has no interface of its own: %+v", what, m.NetworkStat)
		}
	}
	bulk, err := g.client.BulkMetrics([]string{"pm1-pea", "pm1"})
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range []string{"pm1-pea", "pm1"} {
		if e := bulk[h]; e.Err != nil {
			t.Fatalf("bulk metrics of %s: %v", h, e.Err)
		}
	}
	check("bulk metrics", bulk["pm1-pea"].Metrics)
	var m garden.Metrics
	if code, err := g.getJSON("/containers/pm1-pea/metrics", &m); err != nil || code != 200 {
		t.Fatalf("metrics of the pea: %d %v", code, err)
	}
	check("metrics", m)
	// Still not a container: it is in no list and has no info.
	if hs, err := g.client.Containers(nil); err != nil || len(hs) != 1 {
		t.Fatalf("list: %v %v", hs, err)
	}
	var info map[string]any
	if code, _ := g.getJSON("/containers/pm1-pea/info", &info); code == 200 {
		t.Fatalf("info of a pea answered: %v", info)
	}
	if m.DiskStat != (garden.ContainerDiskStat{}) {
		t.Errorf("a pea given a rootfs directory has no volume, but disk stats: %+v", m.DiskStat)
	}
	// A pea whose image the image plugin made: its volume's disk usage.
	images := filepath.Join(g.dir, "images")
	if out, err := exec.Command(filepath.Join(testutil.RepoRoot(), "scripts", "mk-test-images"), images).CombinedOutput(); err != nil {
		t.Fatalf("mk-test-images: %v: %s", err, out)
	}
	w2 := &lineWriter{ready: make(chan struct{})}
	p2, err := c.Run(garden.ProcessSpec{ID: "pm1-tar", Path: "/bin/sh", Args: []string{"-c", "echo up; exec sleep 1000"},
		Image: garden.ImageRef{URI: filepath.Join(images, "rootfs.tar.gz")}}, client.ProcessIO{Stdout: w2})
	if err != nil {
		t.Fatal(err)
	}
	<-w2.ready
	bulk, err = g.client.BulkMetrics([]string{"pm1-tar"})
	if err != nil || bulk["pm1-tar"].Err != nil {
		t.Fatalf("bulk metrics of a pea with a volume: %v %+v", err, bulk["pm1-tar"])
	}
	check("bulk metrics", bulk["pm1-tar"].Metrics)
	if d := bulk["pm1-tar"].Metrics.DiskStat; d.TotalBytesUsed == 0 {
		t.Errorf("a pea with a volume: no disk usage: %+v", d)
	}
	if err := p2.Signal(garden.SignalKill); err != nil {
		t.Fatal(err)
	}
	if status, err := p2.Wait(); err != nil || status != 137 {
		t.Fatalf("wait: %d %v", status, err)
	}
	// Once it has exited it is gone.
	if err := p.Signal(garden.SignalKill); err != nil {
		t.Fatal(err)
	}
	if status, err := p.Wait(); err != nil || status != 137 {
		t.Fatalf("wait: %d %v", status, err)
	}
	bulk, err = g.client.BulkMetrics([]string{"pm1-pea"})
	if err != nil {
		t.Fatal(err)
	}
	if e := bulk["pm1-pea"].Err; e == nil || !strings.Contains(e.Message, "unknown handle") {
		t.Fatalf("bulk metrics of an exited pea: %+v", bulk["pm1-pea"])
	}
}

// A pea whose process exits at once is a process like any other: Run
// answers with its id, Wait with its status, and nothing of it outlives
// its container.
func TestQuickPeasAreProcesses(t *testing.T) {
	g := startGdn(t)
	runs := envCount(t, "GDN_QUICK_PEA_RUNS", 200)
	c := g.create(garden.ContainerSpec{Handle: "qp1"})
	failures := 0
	for i := range runs {
		p, err := c.Run(garden.ProcessSpec{Path: "/bin/sh", Args: []string{"-c", "exit " + strconv.Itoa(i%7)},
			Image: garden.ImageRef{URI: g.rootfs}}, client.ProcessIO{})
		if err != nil {
			failures++
			t.Errorf("run %d: %v", i, err)
			continue
		}
		if p.ID() == "" {
			t.Errorf("run %d: no process id", i)
		}
		if status, err := p.Wait(); err != nil || status != i%7 {
			failures++
			t.Errorf("run %d: wait = %d, %v; want %d", i, status, err, i%7)
		}
	}
	t.Logf("%d of %d quick pea runs failed", failures, runs)
	// Nothing of any pea outlives its container.
	if err := g.client.Destroy("qp1"); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(filepath.Join(g.dir, "run"))
	var left []string
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), ".") {
			left = append(left, e.Name())
		}
	}
	if len(left) > 0 {
		t.Errorf("runtime containers left after destroy: %v", left)
	}
}
