// Command api measures gdn-server's create, run and destroy through the
// Garden API against the floor of the same tools run by hand in the same
// run: C clients × N creates each with a 1 MiB exclusive disk limit (the
// reference's release gate), then a run of /bin/true to its exit status,
// then destroys. It starts its own gdn-server in a scratch directory and
// prints ratios of means. Needs root and `make build`.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gdn-dev/gdn/pkg/garden"
	"github.com/gdn-dev/gdn/pkg/garden/client"
)

func main() {
	clients := flag.Int("clients", 5, "parallel clients")
	creates := flag.Int("creates", 40, "creates per client")
	live := flag.Int("live", 250, "containers (each with a process) alive across the restart measurement")
	pool := flag.String("pool", "10.240.0.0/20", "network pool (a /30 per container: /20 holds 1024)")
	flag.Parse()
	repo, _ := filepath.Abs(filepath.Join(filepath.Dir(os.Args[0]), "..", ".."))
	if _, err := os.Stat(filepath.Join(repo, "bin", "gdn-server")); err != nil {
		repo, _ = os.Getwd()
	}
	bin := func(n string) string { return filepath.Join(repo, "bin", n) }
	work, err := os.MkdirTemp("/tmp", "gdn-bench-api-")
	check(err)
	check(os.Chmod(work, 0o755))
	defer os.RemoveAll(work)
	rootfs := filepath.Join(work, "rootfs")
	run(filepath.Join(repo, "scripts", "mk-rootfs"), rootfs)
	initBin := filepath.Join(work, "gdn-init")
	run("install", "-m", "0755", bin("gdn-init"), initBin)
	env := append(os.Environ(), "GDN_RUNTIME_ROOT="+work+"/run", "GDN_STORE="+work+"/store",
		"GDN_NET_STATE="+work+"/net", "GDN_NET_TABLE=gdnbench", "GDN_DEPOT="+work+"/depot")
	netArgs := []string{"--network-pool", *pool}
	sock := filepath.Join(work, "garden.sock")
	var srv *exec.Cmd
	startServer := func() {
		srv = exec.Command(bin("gdn-server"), "--depot", work+"/depot", "--bind-socket", sock, "--default-rootfs", rootfs,
			"--init-bin", initBin, "--network-pool", *pool, "--log-level", "error")
		srv.Env = env
		check(srv.Start())
	}
	startServer()
	defer func() {
		_ = srv.Process.Signal(os.Interrupt)
		_ = srv.Wait()
		_ = exec.Command("nft", "delete", "table", "ip", "gdnbench").Run()
		_ = exec.Command("umount", "-l", work+"/store").Run()
		_ = exec.Command("umount", "-l", work+"/store-privileged").Run()
	}()
	cl := client.New("unix", sock)
	for cl.Ping() != nil {
		time.Sleep(20 * time.Millisecond)
	}
	spec := func(h string) garden.ContainerSpec {
		return garden.ContainerSpec{Handle: h, Limits: garden.Limits{Disk: garden.DiskLimits{ByteHard: 1 << 20, Scope: garden.DiskLimitScopeExclusive}}}
	}

	// Through the API.
	apiCreate := parallel(*clients, *creates, func(c, i int) {
		_, err := cl.Create(spec(fmt.Sprintf("api-%d-%d", c, i)))
		check(err)
	})
	apiRun := parallel(1, 20, func(_, i int) {
		c, _ := cl.Lookup("api-0-0")
		p, err := c.Run(garden.ProcessSpec{Path: "/bin/true"}, client.ProcessIO{})
		check(err)
		_, err = p.Wait()
		check(err)
	})
	apiDestroy := parallel(*clients, *creates, func(c, i int) { check(cl.Destroy(fmt.Sprintf("api-%d-%d", c, i))) })

	// The same tools by hand: the pipeline of the design brief.
	tool := func(stdin []byte, name string, args ...string) []byte {
		cmd := exec.Command(bin(name), args...)
		cmd.Env = env
		cmd.Stdin = bytes.NewReader(stdin)
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		if err := cmd.Run(); err != nil {
			panic(fmt.Sprintf("%s %v: %v: %s", name, args, err, errb.String()))
		}
		return out.Bytes()
	}
	handCreate := parallel(*clients, *creates, func(c, i int) {
		h := fmt.Sprintf("hand-%d-%d", c, i)
		partial := tool(nil, "gdn-rootfs", "create", "--disk-limit-size-bytes", "1048576", "--exclude-image-from-quota", rootfs, h)
		created := tool(tool(partial, "gdn-depot", "create", h, "--init-bin", initBin), "gdn-run", "create")
		tool(created, "gdn-net", append(netArgs, "up", h, "--dns-dir", work+"/depot/"+h)...)
	})
	handRun := parallel(1, 20, func(_, i int) {
		cmd := exec.Command(bin("gdn-run"), "exec", "hand-0-0", "--attach", "--", "/bin/true")
		cmd.Env = env
		check(cmd.Run())
	})
	handDestroy := parallel(*clients, *creates, func(c, i int) {
		h := fmt.Sprintf("hand-%d-%d", c, i)
		tool(nil, "gdn-net", append(netArgs, "down", h)...)
		tool(nil, "gdn-run", "delete", h)
		tool(nil, "gdn-rootfs", "delete", h)
		tool(nil, "gdn-depot", "destroy", h)
	})

	// Create latency with no other container, then with the live ones
	// (each with a process), to see whether anything grows with them.
	sequential := func(tag string) []time.Duration {
		d := parallel(1, 20, func(_, i int) {
			_, err := cl.Create(spec(fmt.Sprintf("%s-%d", tag, i)))
			check(err)
		})
		parallel(1, 20, func(_, i int) { check(cl.Destroy(fmt.Sprintf("%s-%d", tag, i))) })
		return d
	}
	atZero := sequential("zero")

	// Restart with many live containers: kill -9, start, and time until
	// the API answers, and until every process is re-attached.
	parallel(*clients, *live / *clients, func(c, i int) {
		h := fmt.Sprintf("live-%d-%d", c, i)
		ct, err := cl.Create(garden.ContainerSpec{Handle: h})
		check(err)
		_, err = ct.Run(garden.ProcessSpec{ID: "sleeper", Path: "/bin/sleep", Args: []string{"1000"}}, client.ProcessIO{})
		check(err)
	})
	atLive := sequential("busy")
	check(srv.Process.Kill())
	_ = srv.Wait()
	restart := time.Now()
	startServer()
	for cl.Ping() != nil {
		time.Sleep(5 * time.Millisecond)
	}
	serving := time.Since(restart)
	handles, err := cl.Containers(nil)
	check(err)
	listed := time.Since(restart)
	var procs []client.Process
	for _, ct := range handles {
		p, err := ct.Attach("sleeper", client.ProcessIO{})
		check(err)
		procs = append(procs, p)
	}
	attached := time.Since(restart)
	for _, p := range procs {
		check(p.Signal(garden.SignalKill))
	}
	parallel(*clients, *live / *clients, func(c, i int) { check(cl.Destroy(fmt.Sprintf("live-%d-%d", c, i))) })
	fmt.Printf("one client, 20 creates: %s ms with no other container, %s ms with %d live ones (ratio %.2f)\n",
		stats(atZero), stats(atLive), *live, mean(atLive)/mean(atZero))
	fmt.Printf("restart with %d live containers (kill -9): serving after %v, all listed after %v, all %d processes re-attached after %v\n",
		len(handles), serving.Round(time.Millisecond), listed.Round(time.Millisecond), len(procs), attached.Round(time.Millisecond))

	fmt.Printf("%d clients x %d creates, 1 MiB exclusive disk limit; run of /bin/true x20 (one client)\n", *clients, *creates)
	fmt.Printf("%-9s %28s %28s %7s\n", "", "API mean / median / p95 ms", "tools by hand (same)", "ratio")
	for _, r := range []struct {
		name      string
		api, hand []time.Duration
	}{{"create", apiCreate, handCreate}, {"run", apiRun, handRun}, {"destroy", apiDestroy, handDestroy}} {
		a, h := stats(r.api), stats(r.hand)
		fmt.Printf("%-9s %28s %28s %7.2f\n", r.name, a, h, mean(r.api)/mean(r.hand))
	}
}

// parallel runs f for c clients × n calls each and returns the latencies.
func parallel(c, n int, f func(client, i int)) []time.Duration {
	var mu sync.Mutex
	var all []time.Duration
	var wg sync.WaitGroup
	for k := range c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range n {
				start := time.Now()
				f(k, i)
				d := time.Since(start)
				mu.Lock()
				all = append(all, d)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return all
}

func mean(ds []time.Duration) float64 {
	var sum time.Duration
	for _, d := range ds {
		sum += d
	}
	return float64(sum) / float64(len(ds))
}

func stats(ds []time.Duration) string {
	s := slices.Clone(ds)
	slices.Sort(s)
	ms := func(d float64) string { return fmt.Sprintf("%.1f", d/1e6) }
	return strings.Join([]string{ms(mean(s)), ms(float64(s[len(s)/2])), ms(float64(s[len(s)*95/100]))}, " / ")
}

func run(name string, args ...string) {
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		panic(fmt.Sprintf("%s: %v: %s", name, err, out))
	}
}

func check(err error) {
	if err != nil {
		panic(err)
	}
}
