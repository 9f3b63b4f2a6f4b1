// Command api is gdn's benchmark through the Garden API: every figure of
// the design brief's §6 against a floor measured in the same run (Debian's
// runc on the very bundle gdn-depot writes, a raw pipe), written as a
// table (figure, gdn, floor, ratio, goal, met?) in Markdown and JSON under
// bench/results/, with an SVG of the create/run/destroy latencies.
//
// It starts its own gdn-server (its own tag, directories, socket, nft
// table and pool) in a scratch directory, and interleaves the floors with
// gdn's figures pass by pass, so that a machine that slows down in the
// middle slows both. A floor that drifted more than 20% between its first
// and last pass is flagged. Needs root, `make build`, runc.
package main

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	goruntime "runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/gdn-dev/gdn/pkg/garden"
	"github.com/gdn-dev/gdn/pkg/garden/client"
)

func main() {
	passes := flag.Int("passes", 5, "interleaved passes of floor and gdn measurements")
	perPass := flag.Int("n", 10, "creates, runs and destroys (and floor runs) per pass")
	clients := flag.Int("clients", 5, "parallel clients of the disk-limit figure")
	creates := flag.Int("creates", 40, "creates per client of the disk-limit figure")
	live := flag.Int("live", 1000, "live containers (each running a process) for the create-at-scale figure")
	dadoos := flag.Int("dadoos", 100, "running processes whose dadoo memory is measured")
	mib := flag.Int("stdout-mib", 50, "MiB of stdout streamed through the API")
	pool := flag.String("pool", "10.240.0.0/20", "network pool (a /30 per container: /20 holds 1024)")
	out := flag.String("out", "", "results directory (default: bench/results in the repository)")
	only := flag.String("only", "", "run just this figure: \"gate\" (many clients with a disk limit) or \"live\" (create with many live containers); default: every figure")
	flag.Parse()
	if *only != "" && *only != "gate" && *only != "live" {
		fmt.Fprintf(os.Stderr, "-only: unknown figure %q (known: gate, live)\n", *only)
		os.Exit(2)
	}

	repo, _ := filepath.Abs(filepath.Join(filepath.Dir(os.Args[0]), "..", ".."))
	if _, err := os.Stat(filepath.Join(repo, "bin", "gdn-server")); err != nil {
		repo, _ = os.Getwd()
	}
	if *out == "" {
		*out = filepath.Join(repo, "bench", "results")
	}
	s := startBench(repo, *pool)
	defer s.close()
	// An interrupted run still takes down what it made.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sigs
		fmt.Fprintln(os.Stderr, "interrupted: destroying what the run made")
		s.close()
		removeFloorCgroups()
		os.Exit(130)
	}()
	fl := newFloors(s.work, s.floorBundle())
	defer removeFloorCgroups()
	defer fl.close()

	r := &results{Passes: *passes, PerPass: *perPass, Started: time.Now()}

	// Interleaved passes: floors, then gdn, in each.
	var (
		runFloor, execFloor     []time.Duration
		create, runT, destroy   []time.Duration
		firstRunFl, lastRunFl   []time.Duration
		firstExecFl, lastExecFl []time.Duration
		pipeFloor, pipeGdn      []float64
	)
	k := 0
	if *only != "" {
		*passes = 0
	}
	for p := range *passes {
		var rf, ef []time.Duration
		for range *perPass {
			rf = append(rf, fl.runTrue(k))
			k++
		}
		var hs []string
		var first client.Container
		for i := range *perPass {
			h := fmt.Sprintf("p%d-%d", p, i)
			create = append(create, timed(func() {
				c := s.create(garden.ContainerSpec{Handle: h})
				if first == nil {
					first = c
				}
			}))
			hs = append(hs, h)
		}
		for range *perPass {
			ef = append(ef, fl.execTrue())
		}
		for range *perPass {
			runT = append(runT, timed(func() { s.runTrue(first) }))
		}
		pipeFloor = append(pipeFloor, fl.pipe(*mib))
		pipeGdn = append(pipeGdn, s.pipe(first, *mib))
		for _, h := range hs {
			destroy = append(destroy, timed(func() { check(s.cl.Destroy(h)) }))
		}
		runFloor, execFloor = append(runFloor, rf...), append(execFloor, ef...)
		if p == 0 {
			firstRunFl, firstExecFl = rf, ef
		}
		lastRunFl, lastExecFl = rf, ef
		fmt.Fprintf(os.Stderr, "pass %d: runc run %.1f ms, create %.1f ms, runc exec %.1f ms, run %.1f ms, destroy %.1f ms (medians so far)\n",
			p+1, ms(median(runFloor)), ms(median(create)), ms(median(execFloor)), ms(median(runT)), ms(median(destroy)))
	}
	if *only == "" {
		r.drift("runc run", firstRunFl, lastRunFl)
		r.drift("runc exec", firstExecFl, lastExecFl)
		r.Latencies = map[string][]float64{
			"runc run": msList(runFloor), "create": msList(create),
			"runc exec": msList(execFloor), "run": msList(runT), "destroy": msList(destroy),
		}
		r.add(figure{Name: "create (default rootfs, network on)", Unit: "ms", Gdn: ms(median(create)), GdnP90: ms(p90(create)),
			FloorName: "runc run /bin/true (userns)", Floor: ms(median(runFloor)), FloorP90: ms(p90(runFloor)), Goal: 2.0})
		r.add(figure{Name: "Run /bin/true to its exit status", Unit: "ms", Gdn: ms(median(runT)), GdnP90: ms(p90(runT)),
			FloorName: "runc exec /bin/true", Floor: ms(median(execFloor)), FloorP90: ms(p90(execFloor)), Goal: 1.5})
		r.add(figure{Name: "destroy", Unit: "ms", Gdn: ms(median(destroy)), GdnP90: ms(p90(destroy)),
			FloorName: "runc run /bin/true (userns)", Floor: ms(median(runFloor)), FloorP90: ms(p90(runFloor)), Goal: 1.2})
		r.add(figure{Name: fmt.Sprintf("%d MiB stdout through the API", *mib), Unit: "MiB/s", Gdn: median(pipeGdn) / (1 << 20),
			FloorName: "runc exec dd \\| cat (raw pipe)", Floor: median(pipeFloor) / (1 << 20), HigherIsBetter: true,
			Note: "the goal (1.5× the reference's) needs the reference; ratio here is against the raw pipe"})
	}

	if *only == "" || *only == "gate" {
		// Many clients with a disk limit (the reference's release gate) against
		// one client's create of the same spec.
		diskSpec := func(h string) garden.ContainerSpec {
			return garden.ContainerSpec{Handle: h, Limits: garden.Limits{Disk: garden.DiskLimits{ByteHard: 1 << 20, Scope: garden.DiskLimitScopeExclusive}}}
		}
		// The machine's CPU per create (all of it: tools, server, kernel)
		// one at a time and under the clients, and per `runc run` of
		// /bin/true, in the same run: with the CPUs saturated the mean is
		// about clients÷CPUs times the CPU per create.
		busyOne := cpuBusy()
		one := parallel(1, 20, func(_, i int) { s.create(diskSpec(fmt.Sprintf("one-%d", i))) })
		busyOne = cpuBusy() - busyOne
		parallel(1, 20, func(_, i int) { check(s.cl.Destroy(fmt.Sprintf("one-%d", i))) })
		busyRunc := cpuBusy()
		for i := range 20 {
			fl.runTrue(k + i)
		}
		k += 20
		busyRunc = cpuBusy() - busyRunc
		busy, manyFrom := cpuBusy(), time.Now()
		many := parallel(*clients, *creates, func(c, i int) { s.create(diskSpec(fmt.Sprintf("gate-%d-%d", c, i))) })
		busy, manyTook := cpuBusy()-busy, time.Since(manyFrom)
		parallel(*clients, *creates, func(c, i int) { check(s.cl.Destroy(fmt.Sprintf("gate-%d-%d", c, i))) })
		r.add(figure{Name: fmt.Sprintf("%d clients × %d creates, 1 MiB exclusive disk limit, mean", *clients, *creates), Unit: "ms",
			Gdn: ms(mean(many)), GdnP90: ms(p90(many)), FloorName: "one client's create, same spec (median)", Floor: ms(median(one)), Goal: 2.0,
			Note: fmt.Sprintf("the machine's CPU per create: %.1f ms under the clients (%.0f%% of its %d CPUs busy), %.1f ms one at a time; "+
				"per `runc run` of /bin/true: %.1f ms. The goal needs at most %.1f ms (%.1f× one client's create) per create under the clients",
				ms(busy)/float64(*clients**creates), 100*busy.Seconds()/manyTook.Seconds()/float64(goruntime.NumCPU()), goruntime.NumCPU(),
				ms(busyOne)/20, ms(busyRunc)/20,
				2*ms(median(one))*float64(goruntime.NumCPU())/float64(*clients), 2*float64(goruntime.NumCPU())/float64(*clients))})
	}

	var zeroFrom, zeroTo, liveFrom, liveTo time.Time
	if *only == "" {
		// dadoo's memory with many processes running.
		r.add(s.dadooMemory(*dadoos))
	}
	if *only == "" || *only == "live" {
		// Create latency with none and with many live containers.
		// 40 creates in two rounds of 20 (each destroyed after its round):
		// 20 were too few for a steady median here, and 40 at once would
		// not fit in the pool beside 1000 live containers.
		sequential := func(tag string) []time.Duration {
			var d []time.Duration
			for round := range 2 {
				h := func(i int) string { return fmt.Sprintf("%s-%d-%d", tag, round, i) }
				d = append(d, parallel(1, 20, func(_, i int) { s.create(garden.ContainerSpec{Handle: h(i)}) })...)
				parallel(1, 20, func(_, i int) { check(s.cl.Destroy(h(i))) })
			}
			return d
		}
		// Run of /bin/true with none and with them, in a container of
		// its own (outside the windows of the tool tables).
		runner := s.create(garden.ContainerSpec{Handle: "runner"})
		runs := func() []time.Duration {
			var d []time.Duration
			for range 40 {
				d = append(d, timed(func() { s.runTrue(runner) }))
			}
			return d
		}
		zeroFrom = time.Now()
		atZero := sequential("zero")
		zeroTo = time.Now()
		zeroFloor := []time.Duration{fl.runTrue(k), fl.runTrue(k + 1), fl.runTrue(k + 2)}
		k += 3
		runZero := runs()
		fmt.Fprintf(os.Stderr, "making %d live containers\n", *live)
		parallel(4, *live/4, func(c, i int) {
			h := fmt.Sprintf("live-%d-%d", c, i)
			s.sleeper(s.create(garden.ContainerSpec{Handle: h}))
		})
		liveFrom = time.Now()
		atLive := sequential("busy")
		liveTo = time.Now()
		liveFloor := []time.Duration{fl.runTrue(k), fl.runTrue(k + 1), fl.runTrue(k + 2)}
		runLive := runs()
		check(s.cl.Destroy("runner"))
		r.add(figure{Name: fmt.Sprintf("create with %d live containers", *live/4*4), Unit: "ms", Gdn: ms(median(atLive)), GdnP90: ms(p90(atLive)),
			FloorName: "create with none", Floor: ms(median(atZero)), FloorP90: ms(p90(atZero)), Goal: 1.2,
			Note: fmt.Sprintf("runc run floor meanwhile: %.1f ms with none, %.1f ms with them", ms(median(zeroFloor)), ms(median(liveFloor)))})
		r.add(figure{Name: fmt.Sprintf("Run /bin/true with %d live containers", *live/4*4), Unit: "ms", Gdn: ms(median(runLive)), GdnP90: ms(p90(runLive)),
			FloorName: "Run with none", Floor: ms(median(runZero)), FloorP90: ms(p90(runZero)),
			Note: "no goal: how Run scales with the containers a server holds (each live one runs a process under its dadoo)"})
		if *only == "" {
			r.add(s.restart(*live / 4 * 4))
		}
		fmt.Fprintf(os.Stderr, "destroying %d live containers\n", *live)
		parallel(4, *live/4, func(c, i int) { check(s.cl.Destroy(fmt.Sprintf("live-%d-%d", c, i))) })
	}

	log := filepath.Join(s.work, "server.log")
	r.Tools = toolDurations(log, time.Time{}, time.Time{})
	if !zeroFrom.IsZero() {
		r.ToolsAtZero = toolDurations(log, zeroFrom, zeroTo)
		r.ToolsAtLive = toolDurations(log, liveFrom, liveTo)
	}
	r.Finished = time.Now()
	check(r.write(*out))
	md, err := os.ReadFile(filepath.Join(*out, "results.md"))
	check(err)
	os.Stdout.Write(md)
}

// bench is the gdn-server under test and its scratch directory.
type bench struct {
	repo, work, rootfs, initBin, sock, tag, pool string
	env                                          []string
	srv                                          *exec.Cmd
	cl                                           client.Client
}

func startBench(repo, pool string) *bench {
	work, err := os.MkdirTemp("/tmp", "gdn-bench-api-")
	check(err)
	check(os.Chmod(work, 0o755))
	s := &bench{repo: repo, work: work, pool: pool, tag: "bench" + strconv.Itoa(os.Getpid())}
	s.rootfs = filepath.Join(work, "rootfs")
	run(filepath.Join(repo, "scripts", "mk-rootfs"), s.rootfs)
	s.initBin = filepath.Join(work, "gdn-init")
	run("install", "-m", "0755", s.bin("gdn-init"), s.initBin)
	s.sock = filepath.Join(work, "garden.sock")
	s.env = append(os.Environ(), "GDN_TAG="+s.tag)
	s.start()
	return s
}

func (s *bench) bin(n string) string { return filepath.Join(s.repo, "bin", n) }

func (s *bench) start() {
	s.srv = exec.Command(s.bin("gdn-server"), "--tag", s.tag, "--depot", s.work+"/depot", "--store", s.work+"/store",
		"--bind-socket", s.sock, "--default-rootfs", s.rootfs, "--init-bin", s.initBin, "--network-pool", s.pool,
		"--port-pool-start", "40000", "--log-level", "debug", "--log-file", s.work+"/server.log")
	s.srv.Env = s.env
	s.srv.Stderr = os.Stderr
	check(s.srv.Start())
	s.cl = client.New("unix", s.sock)
	for s.cl.Ping() != nil {
		time.Sleep(5 * time.Millisecond)
	}
}

// floorBundle returns a bundle gdn-depot wrote for the default rootfs, as
// for any container of the server's.
func (s *bench) floorBundle() string {
	cmd := exec.Command(s.bin("gdn-depot"), "--depot", s.work+"/floor-depot", "create", "floor", "--rootfs", s.rootfs, "--init-bin", s.initBin)
	cmd.Env = s.env
	if out, err := cmd.CombinedOutput(); err != nil {
		panic(fmt.Sprintf("gdn-depot create: %v: %s", err, out))
	}
	return filepath.Join(s.work, "floor-depot", "floor")
}

// create makes a container; the client's handle on it needs no lookup
// (Lookup lists every container).
func (s *bench) create(spec garden.ContainerSpec) client.Container {
	c, err := s.cl.Create(spec)
	check(err)
	return c
}

func (s *bench) runTrue(c client.Container) {
	p, err := c.Run(garden.ProcessSpec{Path: "/bin/true"}, client.ProcessIO{})
	check(err)
	st, err := p.Wait()
	check(err)
	if st != 0 {
		panic(fmt.Sprintf("/bin/true exited %d", st))
	}
}

// sleeper starts a long-running process in c.
func (s *bench) sleeper(c client.Container) {
	_, err := c.Run(garden.ProcessSpec{ID: "sleeper", Path: "/bin/sleep", Args: []string{"100000"}}, client.ProcessIO{})
	check(err)
}

// countWriter counts what is written to it.
type countWriter struct {
	mu sync.Mutex
	n  int64
}

func (w *countWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	w.n += int64(len(b))
	w.mu.Unlock()
	return len(b), nil
}

// pipe streams mib MiB of stdout from c through the API; it returns the
// bytes per second from Run to the exit status.
func (s *bench) pipe(c client.Container, mib int) float64 {
	w := &countWriter{}
	start := time.Now()
	p, err := c.Run(garden.ProcessSpec{Path: "/bin/dd", Args: []string{"if=/dev/zero", "bs=1048576", fmt.Sprintf("count=%d", mib)}},
		client.ProcessIO{Stdout: w, Stderr: io.Discard})
	check(err)
	st, err := p.Wait()
	check(err)
	d := time.Since(start)
	if st != 0 || w.n != int64(mib)<<20 {
		panic(fmt.Sprintf("stdout through the API: status %d, %d bytes, want %d", st, w.n, mib<<20))
	}
	return float64(w.n) / d.Seconds()
}

// dadooMemory runs n sleeping processes in one container and reads the
// mean PSS and RSS of their dadoos.
func (s *bench) dadooMemory(n int) figure {
	c := s.create(garden.ContainerSpec{Handle: "mem"})
	for i := range n {
		_, err := c.Run(garden.ProcessSpec{ID: fmt.Sprintf("s%d", i), Path: "/bin/sleep", Args: []string{"100000"}}, client.ProcessIO{})
		check(err)
	}
	// A dadoo hands a process that runs on to dadoo-wait after 100 ms
	// (pkg/dadoo); what is measured is the monitors of running
	// processes, after that.
	time.Sleep(500 * time.Millisecond)
	var pss, rss, count float64
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, f := range procs {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		argv := strings.Split(string(b), "\x00")
		if filepath.Base(argv[0]) != "dadoo" || !slices.Contains(argv, "mem") {
			continue
		}
		p, r, ok := smaps(filepath.Join(filepath.Dir(f), "smaps_rollup"))
		if ok {
			pss, rss, count = pss+p, rss+r, count+1
		}
	}
	check(s.cl.Destroy("mem"))
	if count == 0 {
		panic("no dadoo found")
	}
	return figure{Name: fmt.Sprintf("dadoo PSS with %d running (%d measured)", n, int(count)), Unit: "MiB", Gdn: pss / count / 1024,
		FloorName: "goal (absolute; conmon: 0.5)", Floor: 0.8, AbsoluteGoal: true,
		Note: fmt.Sprintf("mean RSS %.2f MiB", rss/count/1024)}
}

// smaps returns the Pss and Rss (KiB) of a smaps_rollup file.
func smaps(path string) (pss, rss float64, ok bool) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) < 2 {
			continue
		}
		v, _ := strconv.ParseFloat(fs[1], 64)
		switch fs[0] {
		case "Pss:":
			pss, ok = v, true
		case "Rss:":
			rss = v
		}
	}
	return pss, rss, ok
}

// restart kills the server (-9) with n live containers and times until it
// serves, lists them all, and has re-attached every sleeper.
func (s *bench) restart(n int) figure {
	check(s.srv.Process.Kill())
	_ = s.srv.Wait()
	begin := time.Now()
	s.start()
	serving := time.Since(begin)
	cs, err := s.cl.Containers(nil)
	check(err)
	for _, c := range cs {
		if strings.HasPrefix(c.Handle(), "live-") {
			_, err := c.Attach("sleeper", client.ProcessIO{})
			check(err)
		}
	}
	all := time.Since(begin)
	return figure{Name: fmt.Sprintf("restart (kill -9) with %d live: all re-attached", n), Unit: "ms", Gdn: ms(all),
		FloorName: "goal (absolute)", Floor: 1000, AbsoluteGoal: true,
		Note: fmt.Sprintf("serving after %.0f ms, %d listed", ms(serving), len(cs))}
}

func (s *bench) close() {
	// Whatever a failed run left goes through the server first, so that
	// every tool undoes what it made.
	if s.cl != nil && s.cl.Ping() == nil {
		if hs, err := s.cl.Containers(garden.Properties{"garden.state": "all"}); err == nil {
			parallel(4, 1, func(c, _ int) {
				for i := c; i < len(hs); i += 4 {
					_ = s.cl.Destroy(hs[i].Handle())
				}
			})
		}
	}
	if s.srv != nil && s.srv.Process != nil {
		_ = s.srv.Process.Signal(os.Interrupt)
		_ = s.srv.Wait()
	}
	// The floors' container, if the run stopped before its own cleanup.
	_ = exec.Command("runc", "--root", filepath.Join(s.work, "runc-root"), "delete", "--force", "floor-exec").Run()
	_ = exec.Command("nft", "delete", "table", "ip", "gdn-"+s.tag).Run()
	_ = exec.Command("umount", "-l", s.work+"/store").Run()
	_ = exec.Command("umount", "-l", s.work+"/store-privileged").Run()
	_ = os.RemoveAll(s.work)
	// A detached down's background process gives its subnet back once
	// the devices are gone, writing the pool file again. After the 1000
	// live containers' destroys, their bridges go one at a time (each an
	// RCU barrier under the kernel's RTNL lock): that takes tens of
	// seconds, and a shorter wait left the pool file behind.
	for deadline := time.Now().Add(3 * time.Minute); time.Now().Before(deadline) && s.netBusy(); {
		time.Sleep(100 * time.Millisecond)
	}
	_ = os.RemoveAll("/var/lib/gdn/net-" + s.tag)
	_ = os.Remove("/run/runc-" + s.tag)
	_ = os.RemoveAll("/run/runc-" + s.tag + ".seccomp") // gdn-run's compiled seccomp profiles
	// The instance's cgroup parent, in every hierarchy: a server leaves it
	// (its containers may outlive it), the bench's instance is gone.
	parents, _ := filepath.Glob("/sys/fs/cgroup/*/garden-" + s.tag)
	for _, d := range append(parents, "/sys/fs/cgroup/garden-"+s.tag) {
		_ = os.Remove(d)
	}
}

// netBusy tells whether a gdn-net of this instance still runs.
func (s *bench) netBusy() bool {
	envs, _ := filepath.Glob("/proc/[0-9]*/environ")
	for _, e := range envs {
		if comm, _ := os.ReadFile(filepath.Join(filepath.Dir(e), "comm")); strings.TrimSpace(string(comm)) != "gdn-net" {
			continue
		}
		if env, err := os.ReadFile(e); err == nil && bytes.Contains(env, []byte("GDN_TAG="+s.tag+"\x00")) {
			return true
		}
	}
	return false
}

// toolDurations reads the server's debug log: the median and count of
// each tool command's runs, slowest first.
func toolDurations(log string, from, to time.Time) []toolTime {
	f, err := os.Open(log)
	check(err)
	defer f.Close()
	runs, cpu := map[string][]time.Duration{}, map[string][]time.Duration{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var l struct {
			Time     time.Time `json:"time"`
			Msg      string    `json:"msg"`
			Cmd      string    `json:"cmd"`
			Args     []string  `json:"args"`
			Duration int64     `json:"duration"`
			CPU      int64     `json:"cpu"`
		}
		if json.Unmarshal(sc.Bytes(), &l) != nil || l.Msg != "ran tool" || len(l.Args) == 0 {
			continue
		}
		if !from.IsZero() && (l.Time.Before(from) || l.Time.After(to)) {
			continue
		}
		sub := l.Args[0]
		if sub == "--action" && len(l.Args) > 1 {
			sub = l.Args[1]
		}
		k := l.Cmd + " " + sub
		runs[k] = append(runs[k], time.Duration(l.Duration))
		cpu[k] = append(cpu[k], time.Duration(l.CPU))
	}
	var out []toolTime
	for k, ds := range runs {
		out = append(out, toolTime{Command: k, Runs: len(ds), Median: ms(median(ds)), P90: ms(p90(ds)), CPU: ms(median(cpu[k]))})
	}
	slices.SortFunc(out, func(a, b toolTime) int { return cmp.Compare(b.Median, a.Median) })
	return out
}

// cpuBusy is the time all CPUs spent running something (user, nice,
// system, irq, softirq), from /proc/stat.
func cpuBusy() time.Duration {
	b, err := os.ReadFile("/proc/stat")
	check(err)
	line, _, _ := strings.Cut(string(b), "\n")
	var ticks int64
	for i, f := range strings.Fields(line)[1:] {
		if i > 6 || i == 3 || i == 4 { // idle, iowait, steal, guest (counted in user)
			continue
		}
		n, err := strconv.ParseInt(f, 10, 64)
		check(err)
		ticks += n
	}
	return time.Duration(ticks) * time.Second / 100 // USER_HZ
}

func timed(f func()) time.Duration {
	start := time.Now()
	f()
	return time.Since(start)
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
				d := timed(func() { f(k, i) })
				mu.Lock()
				all = append(all, d)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return all
}

func run(name string, args ...string) {
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		panic(fmt.Sprintf("%s %v: %v: %s", name, args, err, out))
	}
}

func check(err error) {
	if err != nil {
		panic(err)
	}
}
