package server_test

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gdn-dev/gdn/pkg/garden"
	"github.com/gdn-dev/gdn/pkg/garden/client"
	"github.com/gdn-dev/gdn/pkg/leakcheck"
	"github.com/gdn-dev/gdn/pkg/tag"
	"github.com/gdn-dev/gdn/pkg/testutil"
)

// gdn is a real gdn-server with the real tools, in directories and a
// network pool of its own.
type gdn struct {
	t        *testing.T
	dir      string
	sock     string
	args     []string
	env      []string
	cmd      *exec.Cmd
	client   client.Client
	rootfs   string
	stopOnce sync.Once
	// net is the first two octets of the test's addresses ("10.78"),
	// portStart the first of its 50 net-in ports: both from the test
	// process's network slot, so test runs side by side never share them.
	net       string
	portStart uint32
	table     string
	tag       string
}

// leaks is what the server's instance owns: its own homes and table, and
// its tag's cgroup parent (the server hands the tag to every tool).
func (g *gdn) leaks() leakcheck.Instance {
	return leakcheck.Instance{
		Depot: filepath.Join(g.dir, "depot"), Store: filepath.Join(g.dir, "store"),
		RuntimeRoot: filepath.Join(g.dir, "run"), NetState: filepath.Join(g.dir, "net"),
		NftTable: g.table, CgroupParent: tag.Scoped("/garden", g.tag),
	}
}

// assertClean fails the test for each leftover of the server's instance
// but the excepted handles'.
func (g *gdn) assertClean(except ...string) {
	g.t.Helper()
	leakcheck.AssertClean(g.t, g.leaks().Except(except...))
	// privileged containers' volumes are in a store of their own
	leakcheck.AssertClean(g.t, leakcheck.Instance{Store: filepath.Join(g.dir, "store-privileged")}.Except(except...))
}

// addr returns the test's address (or CIDR) that ends in rest: "0.2" is
// 10.78.0.2 in slot 0.
func (g *gdn) addr(rest string) string { return g.net + "." + rest }

var buildOnce sync.Once

func bin(name string) string { return filepath.Join(testutil.RepoRoot(), "bin", name) }

func startGdn(t *testing.T, extra ...string) *gdn {
	t.Helper()
	testutil.RequireRoot(t)
	buildOnce.Do(func() {
		out, err := exec.Command("make", "-C", testutil.RepoRoot(), "build").CombinedOutput()
		if err != nil {
			t.Fatalf("make build: %v\n%s", err, out)
		}
	})
	dir := testutil.WorkDir(t)
	slot := testutil.NetSlot(t)
	g := &gdn{t: t, dir: dir, sock: filepath.Join(dir, "garden.sock"),
		net: fmt.Sprintf("10.%d", 78+slot), portStart: 62001 + 100*uint32(slot)}
	g.rootfs = testutil.Rootfs(t, dir)
	initBin := testutil.InitBinary(t, dir)
	table := fmt.Sprintf("gdnit%d", os.Getpid()%100000)
	// Its own tag, for the server and for the tools a test runs by hand:
	// its cgroups (and any other host-global name) are never those of a
	// server already running on this host.
	g.table, g.tag = table, fmt.Sprintf("it%d", os.Getpid()%100000)
	g.env = append(os.Environ(),
		"GDN_TAG="+g.tag,
		"GDN_RUNTIME_ROOT="+filepath.Join(dir, "run"),
		"GDN_STORE="+filepath.Join(dir, "store"),
		"GDN_NET_STATE="+filepath.Join(dir, "net"),
		"GDN_NET_TABLE="+table,
	)
	g.args = append([]string{
		"--depot", filepath.Join(dir, "depot"), "--bind-socket", g.sock,
		"--default-rootfs", g.rootfs, "--init-bin", initBin,
		"--network-pool", g.addr("0.0/26"), "--port-pool-start", fmt.Sprint(g.portStart), "--port-pool-size", "50",
		"--tag", g.tag,
		"--log-level", "debug", "--log-file", filepath.Join(dir, "server.log"),
	}, extra...)
	g.start()
	t.Cleanup(func() {
		// Destroy what the test left, then stop the server and check
		// nothing of ours remains.
		if hs, err := g.client.Containers(garden.Properties{"garden.state": "all"}); err == nil {
			for _, c := range hs {
				if err := g.client.Destroy(c.Handle()); err != nil {
					t.Errorf("cleanup destroy %s: %v", c.Handle(), err)
				}
			}
		}
		g.stop(syscall.SIGTERM)
		// The leak checker first: it waits for detached downs' devices.
		g.assertClean()
		g.assertNoLeaks()
		for _, store := range []string{"store", "store-privileged"} {
			_ = exec.Command(bin("gdn-rootfs"), "--store", filepath.Join(dir, store), "clean").Run()
			_ = exec.Command("umount", "-l", filepath.Join(dir, store)).Run()
		}
		if t.Failed() {
			log, _ := os.ReadFile(filepath.Join(dir, "server.log"))
			t.Logf("server log (tail):\n%s", tail(string(log), 4000))
		}
		_ = exec.Command("nft", "delete", "table", "ip", table).Run()
		// The tag's cgroup parents, empty once every container is gone
		// (rmdir fails on a non-empty one, which the leak check reports).
		parents, _ := filepath.Glob("/sys/fs/cgroup/*/garden-" + g.tag)
		unified, _ := filepath.Glob("/sys/fs/cgroup/garden-" + g.tag)
		for _, p := range append(parents, unified...) {
			_ = os.Remove(p)
		}
	})
	return g
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

func (g *gdn) start() {
	g.t.Helper()
	_ = os.Remove(g.sock)
	cmd := exec.Command(bin("gdn-server"), g.args...)
	cmd.Env = g.env
	if err := cmd.Start(); err != nil {
		g.t.Fatal(err)
	}
	g.cmd = cmd
	g.stopOnce = sync.Once{}
	g.client = client.New("unix", g.sock)
	for i, a := range g.args {
		if a == "--bind-ip" && i+3 < len(g.args) && g.args[i+2] == "--bind-port" {
			g.client = client.New("tcp", net.JoinHostPort(g.args[i+1], g.args[i+3]))
		}
	}
	deadline := time.Now().Add(20 * time.Second)
	for g.client.Ping() != nil {
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(g.dir, "server.log"))
			g.t.Fatalf("gdn-server did not start:\n%s", tail(string(log), 3000))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (g *gdn) stop(sig syscall.Signal) {
	g.stopOnce.Do(func() {
		_ = g.cmd.Process.Signal(sig)
		_ = g.cmd.Wait()
	})
}

// assertNoLeaks checks the tools' state dirs hold no container and no
// link of the test's pool remains.
func (g *gdn) assertNoLeaks() {
	g.t.Helper()
	for _, d := range []string{"depot", "run"} {
		entries, _ := os.ReadDir(filepath.Join(g.dir, d))
		for _, e := range entries {
			if !strings.HasPrefix(e.Name(), ".") {
				g.t.Errorf("leaked %s entry %s", d, e.Name())
			}
		}
	}
	out, _ := exec.Command("ip", "-o", "addr").Output()
	if strings.Contains(string(out), " "+g.net+".") {
		g.t.Errorf("leaked addresses of the test pool:\n%s", out)
	}
}

func (g *gdn) create(spec garden.ContainerSpec) client.Container {
	g.t.Helper()
	c, err := g.client.Create(spec)
	if err != nil {
		g.t.Fatalf("create: %v", err)
	}
	return c
}

// run runs a process to its end and returns status, stdout, stderr.
func run(t *testing.T, c client.Container, stdin string, path string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	io := client.ProcessIO{Stdout: &out, Stderr: &errb}
	if stdin != "" {
		io.Stdin = strings.NewReader(stdin)
	}
	p, err := c.Run(garden.ProcessSpec{Path: path, Args: args}, io)
	if err != nil {
		t.Fatalf("run %s: %v", path, err)
	}
	status, err := p.Wait()
	if err != nil {
		t.Fatalf("wait %s: %v", path, err)
	}
	return status, out.String(), errb.String()
}

// dadooEnv returns variable name of the environment of the running dadoo
// of instance tag (dadoo, or the dadoo-wait it becomes with the same
// environment once its process runs); it fails the test if there is not
// exactly one.
func dadooEnv(t *testing.T, tag, name string) string {
	t.Helper()
	var found []string
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		if comm, _ := os.ReadFile(d + "/comm"); string(comm) != "dadoo\n" && string(comm) != "dadoo-wait\n" {
			continue
		}
		env, err := os.ReadFile(d + "/environ")
		if err != nil {
			continue
		}
		vars := strings.Split(string(env), "\x00")
		if !slices.Contains(vars, "GDN_TAG="+tag) {
			continue
		}
		v := "unset"
		for _, kv := range vars {
			if k, val, ok := strings.Cut(kv, "="); ok && k == name {
				v = val
			}
		}
		found = append(found, v)
	}
	if len(found) != 1 {
		t.Fatalf("%d dadoo processes of tag %s, want 1", len(found), tag)
	}
	return found[0]
}

func TestContainerLifecycleThroughTheAPI(t *testing.T) {
	g := startGdn(t)
	cl := g.client
	capacity, err := cl.Capacity()
	if err != nil || capacity.MaxContainers != 16 || capacity.MemoryInBytes == 0 {
		t.Fatalf("capacity %+v, %v (want 16 /30s in a /26)", capacity, err)
	}
	c := g.create(garden.ContainerSpec{Handle: "c1", Properties: garden.Properties{"owner": "me"}, Env: []string{"FOO=bar"},
		Limits: garden.Limits{Memory: garden.MemoryLimits{LimitInBytes: 64 << 20}, CPU: garden.CPULimits{LimitInShares: 512}}})
	if _, err := cl.Create(garden.ContainerSpec{Handle: "c1"}); err == nil || err.Error() != "Handle 'c1' already in use" {
		t.Fatalf("duplicate handle: %v", err)
	}
	if _, err := cl.Create(garden.ContainerSpec{Handle: "bad/../h"}); err == nil {
		t.Fatal("a handle with / was accepted")
	}
	list, err := cl.Containers(garden.Properties{"owner": "me"})
	if err != nil || len(list) != 1 || list[0].Handle() != "c1" {
		t.Fatalf("filtered list: %v %v", list, err)
	}
	info, err := c.Info()
	if err != nil || info.State != "active" || info.ContainerIP == "" || !strings.HasPrefix(info.ContainerIP, g.addr("0.")) ||
		info.Properties["owner"] != "me" || info.ContainerPath != filepath.Join(g.dir, "depot", "c1") {
		t.Fatalf("info %+v, %v", info, err)
	}
	if m, err := c.CurrentMemoryLimits(); err != nil || m.LimitInBytes != 64<<20 {
		t.Fatalf("memory limits %+v %v", m, err)
	}
	if cpu, err := c.CurrentCPULimits(); err != nil || cpu.LimitInShares != 512 {
		t.Fatalf("cpu limits %+v %v", cpu, err)
	}
	status, out, errout := run(t, c, "hello", "/bin/sh", "-c", `read x; echo "out:$x:$FOO"; echo err >&2; exit 3`)
	if status != 3 || out != "out:hello:bar\n" || errout != "err\n" {
		t.Fatalf("run: status %d, stdout %q, stderr %q", status, out, errout)
	}
	// dadoo (and the gdn-run it starts, and the tools) run with one P;
	// the container's processes get only their spec's environment.
	sleeper, err := c.Run(garden.ProcessSpec{Path: "/bin/sleep", Args: []string{"600"}}, client.ProcessIO{})
	if err != nil {
		t.Fatal(err)
	}
	wantP := "1"
	if v, ok := os.LookupEnv("GOMAXPROCS"); ok {
		wantP = v
	}
	if got := dadooEnv(t, g.tag, "GOMAXPROCS"); got != wantP {
		t.Fatalf("dadoo's GOMAXPROCS is %q, want %q", got, wantP)
	}
	if err := sleeper.Signal(garden.SignalKill); err != nil {
		t.Fatal(err)
	}
	if _, err := sleeper.Wait(); err != nil {
		t.Fatal(err)
	}
	if status, out, _ := run(t, c, "", "/bin/sh", "-c", `echo "${GOMAXPROCS-unset}"`); status != 0 || out != "unset\n" {
		t.Fatalf("a container's process sees GOMAXPROCS: %d %q", status, out)
	}
	if _, err := c.Run(garden.ProcessSpec{Path: "/no/such/binary"}, client.ProcessIO{}); err == nil {
		t.Fatal("running a missing binary succeeded")
	} else if !errors.As(err, new(garden.ExecutableNotFoundError)) {
		t.Fatalf("a missing binary gives %T: %v, want ExecutableNotFoundError", err, err)
	}
	// Metrics report the memory the container uses.
	m, err := c.Metrics()
	if err != nil || m.MemoryStat.TotalUsageTowardLimit == 0 || m.Age <= 0 || m.PidStat.Current == 0 {
		t.Fatalf("metrics %+v, %v", m, err)
	}
	bulk, err := cl.BulkInfo([]string{"c1", "nope"})
	if err != nil || bulk["c1"].Err != nil || bulk["c1"].Info.ContainerIP != info.ContainerIP || bulk["nope"].Err == nil {
		t.Fatalf("bulk info %+v, %v", bulk, err)
	}
	bm, err := cl.BulkMetrics([]string{"c1", "nope"})
	if err != nil || bm["c1"].Err != nil || bm["nope"].Err == nil {
		t.Fatalf("bulk metrics %+v, %v", bm, err)
	}
	// Stop, then run again: the init lives on.
	if err := c.Stop(true); err != nil {
		t.Fatal(err)
	}
	if info, _ := c.Info(); info.State != "stopped" {
		t.Fatalf("state after stop: %q", info.State)
	}
	if status, out, _ := run(t, c, "", "/bin/echo", "again"); status != 0 || out != "again\n" {
		t.Fatalf("run after stop: %d %q", status, out)
	}
	if err := cl.Destroy("c1"); err != nil {
		t.Fatal(err)
	}
	if err := cl.Destroy("c1"); !errors.As(err, new(garden.ContainerNotFoundError)) {
		t.Fatalf("second destroy: %v", err)
	}
	if _, err := c.Info(); !errors.As(err, new(garden.ContainerNotFoundError)) {
		t.Fatalf("info after destroy: %v", err)
	}
}

func TestPropertiesSurviveKill9AndProcessesReattach(t *testing.T) {
	g := startGdn(t)
	c := g.create(garden.ContainerSpec{Handle: "p1"})
	if err := c.SetProperty("k", "v1"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Property("missing"); err == nil || err.Error() != "property does not exist: missing" {
		t.Fatalf("missing property: %v", err)
	}
	if err := c.RemoveProperty("missing"); err != nil {
		t.Fatalf("removing a missing property: %v", err)
	}
	var out bytes.Buffer
	p, err := c.Run(garden.ProcessSpec{ID: "slow", Path: "/bin/sh", Args: []string{"-c", "echo before; sleep 2; echo after; exit 7"}},
		client.ProcessIO{Stdout: &out})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(out.String(), "before") && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	g.stop(syscall.SIGKILL)
	if _, err := p.Wait(); err == nil {
		t.Fatal("Wait succeeded although the server was killed")
	}
	g.start()
	if v, err := c.Property("k"); err != nil || v != "v1" {
		t.Fatalf("property after kill -9: %q %v", v, err)
	}
	var rest bytes.Buffer
	p, err = c.Attach("slow", client.ProcessIO{Stdout: &rest})
	if err != nil {
		t.Fatal(err)
	}
	status, err := p.Wait()
	if err != nil || status != 7 || !strings.Contains(rest.String(), "after") {
		t.Fatalf("re-attach: status %d, %v, output %q", status, err, rest.String())
	}
	if _, err := c.Attach("nope", client.ProcessIO{}); !errors.As(err, new(garden.ProcessNotFoundError)) {
		t.Fatalf("attach to an unknown process: %v", err)
	}
}

func TestAttachAfterClientDisconnect(t *testing.T) {
	g := startGdn(t)
	c := g.create(garden.ContainerSpec{Handle: "a1"})
	// A client that goes away: a raw Run whose connection we close.
	conn, err := net.Dial("unix", g.sock)
	if err != nil {
		t.Fatal(err)
	}
	body := `{"id":"p","path":"/bin/sh","args":["-c","sleep 1; echo done; exit 4"]}`
	fmt.Fprintf(conn, "POST /containers/a1/processes HTTP/1.1\r\nHost: api\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
	buf := make([]byte, 512)
	n, _ := conn.Read(buf)
	if !strings.HasPrefix(string(buf[:n]), "HTTP/1.1 201 Created\r\n") || strings.Contains(string(buf[:n]), "Connection: close") {
		t.Fatalf("run response: %q", buf[:n])
	}
	conn.Close()
	var out bytes.Buffer
	p, err := c.Attach("p", client.ProcessIO{Stdout: &out})
	if err != nil {
		t.Fatal(err)
	}
	if status, err := p.Wait(); err != nil || status != 4 || out.String() != "done\n" {
		t.Fatalf("attach: %d %v %q", status, err, out.String())
	}
	// Attaching again to the exited process gives its status at once.
	p, err = c.Attach("p", client.ProcessIO{})
	if err != nil {
		t.Fatal(err)
	}
	if status, err := p.Wait(); err != nil || status != 4 {
		t.Fatalf("attach to exited: %d %v", status, err)
	}
}

func TestSignalsAndTTY(t *testing.T) {
	g := startGdn(t)
	c := g.create(garden.ContainerSpec{Handle: "t1"})
	p, err := c.Run(garden.ProcessSpec{Path: "/bin/sleep", Args: []string{"100"}}, client.ProcessIO{})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Signal(garden.SignalTerminate); err != nil {
		t.Fatal(err)
	}
	if status, err := p.Wait(); err != nil || status != 143 {
		t.Fatalf("terminated: %d %v", status, err)
	}
	var out bytes.Buffer
	p, err = c.Run(garden.ProcessSpec{Path: "/bin/sh", Args: []string{"-c", "stty size; read x; stty size"},
		TTY: &garden.TTYSpec{WindowSize: &garden.WindowSize{Columns: 100, Rows: 30}}},
		client.ProcessIO{Stdin: &slowReader{then: "go\n"}, Stdout: &out})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	if err := p.SetTTY(garden.TTYSpec{WindowSize: &garden.WindowSize{Columns: 120, Rows: 40}}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	ready <- struct{}{}
	status, err := p.Wait()
	if err != nil || status != 0 || !strings.Contains(out.String(), "30 100") || !strings.Contains(out.String(), "40 120") {
		t.Fatalf("tty: %d %v %q", status, err, out.String())
	}
}

// ready lets slowReader's second read through.
var ready = make(chan struct{}, 1)

// slowReader gives stdin only when the test says so (after the resize).
type slowReader struct {
	then string
	sent bool
}

func (r *slowReader) Read(b []byte) (int, error) {
	if r.sent {
		select {} // keep stdin open; the process ends on its own
	}
	<-ready
	r.sent = true
	return copy(b, r.then), nil
}

func TestStreamInOutAndGraceTime(t *testing.T) {
	g := startGdn(t)
	c := g.create(garden.ContainerSpec{Handle: "s1"})
	var tb bytes.Buffer
	tw := tar.NewWriter(&tb)
	_ = tw.WriteHeader(&tar.Header{Name: "hello.txt", Mode: 0o644, Size: 5, Typeflag: tar.TypeReg})
	_, _ = tw.Write([]byte("world"))
	_ = tw.Close()
	if err := c.StreamIn(client.StreamInSpec{Path: "/tmp/in", User: "root", TarStream: &tb}); err != nil {
		t.Fatal(err)
	}
	if status, out, _ := run(t, c, "", "/bin/cat", "/tmp/in/hello.txt"); status != 0 || out != "world" {
		t.Fatalf("streamed-in file: %d %q", status, out)
	}
	rc, err := c.StreamOut(client.StreamOutSpec{Path: "/tmp/in/hello.txt", User: "root"})
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(rc)
	hdr, err := tr.Next()
	if err != nil || hdr.Name != "hello.txt" {
		t.Fatalf("stream out header %+v %v", hdr, err)
	}
	data, _ := io.ReadAll(tr)
	rc.Close()
	if string(data) != "world" {
		t.Fatalf("stream out data %q", data)
	}
	// gdn-run stream-out fails before any byte, so the answer is an error.
	if rc, err := c.StreamOut(client.StreamOutSpec{Path: "/no/such"}); err == nil {
		rc.Close()
		t.Fatal("stream out of a missing path succeeded")
	}

	// Grace time: a short one reaps, PUT 0 means never.
	short := g.create(garden.ContainerSpec{Handle: "g1", GraceTime: 500 * time.Millisecond})
	never := g.create(garden.ContainerSpec{Handle: "g2", GraceTime: 500 * time.Millisecond})
	if err := never.SetGraceTime(0); err != nil {
		t.Fatal(err)
	}
	// Poll with Lookup (a list): Info would count as activity and
	// restart the countdown.
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := g.client.Lookup(short.Handle()); errors.As(err, new(garden.ContainerNotFoundError)) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("g1 was not reaped after its grace time")
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(time.Second)
	if _, err := g.client.Lookup(never.Handle()); err != nil {
		t.Fatalf("g2 with grace time 0 was reaped: %v", err)
	}
}

func TestMaxContainersUnderParallelCreates(t *testing.T) {
	g := startGdn(t, "--max-containers", "2")
	var wg sync.WaitGroup
	errs := make([]error, 5)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = g.client.Create(garden.ContainerSpec{Handle: fmt.Sprintf("m%d", i)})
		}()
	}
	wg.Wait()
	ok, full := 0, 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case err.Error() == "max containers reached":
			full++
		default:
			t.Errorf("create: %v", err)
		}
	}
	if ok != 2 || full != 3 {
		t.Fatalf("%d creates succeeded, %d refused; want 2 and 3", ok, full)
	}
}

func TestNetInReachesTheContainer(t *testing.T) {
	g := startGdn(t, "--enable-container-network-metrics")
	c := g.create(garden.ContainerSpec{Handle: "n1"})
	hostPort, containerPort, err := c.NetIn(0, 8080)
	if err != nil || hostPort < g.portStart || hostPort >= g.portStart+50 || containerPort != 8080 {
		t.Fatalf("net in: %d %d %v", hostPort, containerPort, err)
	}
	if _, err := c.Run(garden.ProcessSpec{Path: "/bin/sh", Args: []string{"-c", "echo hi-from-container | nc -l -p 8080"}}, client.ProcessIO{}); err != nil {
		t.Fatal(err)
	}
	info, _ := c.Info()
	if len(info.MappedPorts) != 1 || info.MappedPorts[0].HostPort != hostPort || info.ExternalIP == "" {
		t.Fatalf("mapped ports %+v, external IP %q", info.MappedPorts, info.ExternalIP)
	}
	// From the host, to the external IP (one of this host's own
	// addresses) and the mapped port: the DNAT rule must carry it.
	var got []byte
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		conn, err := net.DialTimeout("tcp", net.JoinHostPort(info.ExternalIP, fmt.Sprint(hostPort)), time.Second)
		if err == nil {
			_ = conn.SetReadDeadline(time.Now().Add(2 * time.Second))
			got, _ = io.ReadAll(conn)
			conn.Close()
			if len(got) > 0 {
				break
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	if string(got) != "hi-from-container\n" {
		t.Fatalf("read %q from %s:%d", got, info.ExternalIP, hostPort)
	}
	// Parallel net-ins each keep their mapping in the report.
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, _, err := c.NetIn(0, uint32(9000+i)); err != nil {
				t.Errorf("parallel net in: %v", err)
			}
		}()
	}
	wg.Wait()
	if info, _ := c.Info(); len(info.MappedPorts) != 5 {
		t.Fatalf("after 5 net-ins, mapped ports %+v", info.MappedPorts)
	}
	m, err := c.Metrics()
	if err != nil || m.NetworkStat == nil || m.NetworkStat.TxBytes == 0 || m.NetworkStat.RxBytes == 0 {
		t.Fatalf("network metrics %+v, %v", m.NetworkStat, err)
	}
	if err := c.BulkNetOut([]garden.NetOutRule{{Protocol: garden.ProtocolTCP, Ports: []garden.PortRange{garden.PortRangeFromPort(443)}}}); err != nil {
		t.Fatalf("bulk net out: %v", err)
	}
	if err := c.NetOut(garden.NetOutRule{Protocol: garden.ProtocolICMP, Ports: []garden.PortRange{garden.PortRangeFromPort(1)}}); err == nil {
		t.Fatal("a net-out rule with ports for icmp was accepted")
	}
}

func TestOOMIsAnEventInInfo(t *testing.T) {
	g := startGdn(t)
	c := g.create(garden.ContainerSpec{Handle: "o1", Limits: garden.Limits{Memory: garden.MemoryLimits{LimitInBytes: 16 << 20}}})
	status, _, _ := run(t, c, "", "/bin/sh", "-c", "x=a; while true; do x=$x$x$x$x; done")
	if status != 137 {
		t.Fatalf("memory hog exited %d, want 137 (killed)", status)
	}
	info, err := c.Info()
	if err != nil || len(info.Events) == 0 || info.Events[0] != "Out of memory" {
		t.Fatalf("events %v, %v", info.Events, err)
	}
}

func TestPeaRunsInItsOwnRootfs(t *testing.T) {
	g := startGdn(t)
	c := g.create(garden.ContainerSpec{Handle: "pea1"})
	var out bytes.Buffer
	p, err := c.Run(garden.ProcessSpec{Path: "/bin/sh", Args: []string{"-c", "ls /tmp; echo pea-ok"}, Image: garden.ImageRef{URI: g.rootfs}},
		client.ProcessIO{Stdout: &out})
	if err != nil {
		t.Fatal(err)
	}
	if status, err := p.Wait(); err != nil || status != 0 || !strings.Contains(out.String(), "pea-ok") {
		t.Fatalf("pea: %d %v %q", status, err, out.String())
	}
	// An image the image plugin must make: a rootfs tarball. Its volume
	// goes with the container.
	images := filepath.Join(g.dir, "images")
	if out, err := exec.Command(filepath.Join(testutil.RepoRoot(), "scripts", "mk-test-images"), images).CombinedOutput(); err != nil {
		t.Fatalf("mk-test-images: %v: %s", err, out)
	}
	out.Reset()
	p, err = c.Run(garden.ProcessSpec{Path: "/bin/sh", Args: []string{"-c", "echo from-tarball > /tmp/x; cat /tmp/x"},
		Image: garden.ImageRef{URI: filepath.Join(images, "rootfs.tar.gz")}}, client.ProcessIO{Stdout: &out})
	if err != nil {
		t.Fatal(err)
	}
	if status, err := p.Wait(); err != nil || status != 0 || out.String() != "from-tarball\n" {
		t.Fatalf("pea from a tarball: %d %v %q", status, err, out.String())
	}
	if vols := g.tool("", "gdn-rootfs", "list"); !strings.Contains(vols, "pea-") {
		t.Fatalf("no pea volume while the container lives: %s", vols)
	}
	// The startup sweep of orphan volumes must know it for its container's.
	g.stop(syscall.SIGKILL)
	g.start()
	if vols := g.tool("", "gdn-rootfs", "list"); !strings.Contains(vols, "pea-") {
		t.Fatalf("a restart removed the live container's pea volume: %s", vols)
	}
	if err := g.client.Destroy("pea1"); err != nil {
		t.Fatal(err)
	}
	if vols := g.tool("", "gdn-rootfs", "list"); strings.Contains(vols, "pea-") {
		t.Fatalf("the pea volume outlived its container: %s", vols)
	}
}

// tool runs one of gdn's tools with the server's environment.
func (g *gdn) tool(stdin string, name string, args ...string) string {
	g.t.Helper()
	cmd := exec.Command(bin(name), args...)
	cmd.Env = g.env
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			g.t.Fatalf("%s %v: %v: %s", name, args, err, ee.Stderr)
		}
		g.t.Fatal(err)
	}
	return string(out)
}

func TestStartupRemovesTrueOrphansOnly(t *testing.T) {
	g := startGdn(t)
	keep := g.create(garden.ContainerSpec{Handle: "keep"})
	if _, err := keep.Run(garden.ProcessSpec{ID: "sleeper", Path: "/bin/sleep", Args: []string{"30"}}, client.ProcessIO{}); err != nil {
		t.Fatal(err)
	}
	g.stop(syscall.SIGKILL)
	// What a server killed in the middle of creates leaves: a rootfs
	// volume with no bundle, and a container whose create never finished.
	depot := filepath.Join(g.dir, "depot")
	g.tool("", "gdn-rootfs", "create", g.rootfs, "orphan")
	partial := g.tool("", "gdn-rootfs", "create", g.rootfs, "half")
	created := g.tool(partial, "gdn-depot", "--depot", depot, "create", "half", "--init-bin", filepath.Join(g.dir, "gdn-init"),
		"--property", "garden.state=creating")
	g.tool(created, "gdn-run", "create")
	g.start()
	if _, err := os.Stat(filepath.Join(depot, "half")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the half-created container's bundle is still there: %v", err)
	}
	if out := g.tool("", "gdn-run", "list"); strings.Contains(out, `"half"`) {
		t.Errorf("the half-created container is still in the runtime: %s", out)
	}
	if out := g.tool("", "gdn-rootfs", "list"); strings.Contains(out, "orphan") || strings.Contains(out, "half") {
		t.Errorf("orphan volumes survived startup: %s", out)
	}
	c, err := g.client.Lookup("keep")
	if err != nil {
		t.Fatalf("the healthy container is gone: %v", err)
	}
	p, err := c.Attach("sleeper", client.ProcessIO{})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Signal(garden.SignalKill); err != nil {
		t.Fatal(err)
	}
	if status, err := p.Wait(); err != nil || status != 137 {
		t.Fatalf("the healthy container's process: %d %v", status, err)
	}
}

func TestConfigFileAndDebugListener(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	conf := filepath.Join(t.TempDir(), "server.ini")
	body := fmt.Sprintf("[server]\n# settings as in the reference's config file\nmax-containers = 1\ndebug-bind-ip = 127.0.0.1\ndebug-bind-port = %d\n", port)
	if err := os.WriteFile(conf, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	g := startGdn(t, "--config", conf)
	g.create(garden.ContainerSpec{Handle: "only"})
	if _, err := g.client.Create(garden.ContainerSpec{Handle: "second"}); err == nil || err.Error() != "max containers reached" {
		t.Fatalf("second create with max-containers = 1 in the config file: %v", err)
	}
	get := func(path string) string {
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d%s", port, path))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	if m := get("/metrics"); !strings.Contains(m, `gdn_requests_total{route="Create",status="200"} 1`) ||
		!strings.Contains(m, `gdn_requests_total{route="Create",status="500"} 1`) || !strings.Contains(m, "gdn_containers 1") {
		t.Fatalf("metrics:\n%s", m)
	}
	if v := get("/debug/vars"); !strings.Contains(v, "numGoRoutines") {
		t.Fatalf("/debug/vars: %s", v)
	}
	if p := get("/debug/pprof/"); !strings.Contains(p, "goroutine") {
		t.Fatalf("/debug/pprof/: %s", p)
	}
}

// Stdin must not end before the server holds it, however quickly the
// process starts reading: a premature EOF would make cat print nothing.
func TestStdinReachesEveryProcess(t *testing.T) {
	g := startGdn(t)
	c := g.create(garden.ContainerSpec{Handle: "in1"})
	for i := range 10 {
		want := fmt.Sprintf("line %d\n", i)
		if status, out, _ := run(t, c, want, "/bin/cat"); status != 0 || out != want {
			t.Fatalf("run %d: cat printed %q (status %d), want %q", i, out, status, want)
		}
	}
}

// PUT grace_time 0 means never, also after a restart, where the default
// grace time would otherwise apply again.
func TestGraceTimeZeroSurvivesRestart(t *testing.T) {
	g := startGdn(t, "--default-grace-time", "1s")
	reaped := g.create(garden.ContainerSpec{Handle: "dflt"})
	kept := g.create(garden.ContainerSpec{Handle: "zero"})
	if err := kept.SetGraceTime(0); err != nil {
		t.Fatal(err)
	}
	g.stop(syscall.SIGKILL)
	g.start()
	time.Sleep(2500 * time.Millisecond)
	if _, err := g.client.Lookup(reaped.Handle()); !errors.As(err, new(garden.ContainerNotFoundError)) {
		t.Fatalf("the container with the default grace time was not reaped after the restart: %v", err)
	}
	if _, err := g.client.Lookup(kept.Handle()); err != nil {
		t.Fatalf("the container with grace time 0 was reaped after the restart: %v", err)
	}
}

func TestCleanupProcessDirsOnWait(t *testing.T) {
	g := startGdn(t, "--cleanup-process-dirs-on-wait")
	c := g.create(garden.ContainerSpec{Handle: "cw1"})
	p, err := c.Run(garden.ProcessSpec{ID: "once", Path: "/bin/sh", Args: []string{"-c", "exit 5"}}, client.ProcessIO{})
	if err != nil {
		t.Fatal(err)
	}
	if status, err := p.Wait(); err != nil || status != 5 {
		t.Fatalf("wait: %d %v", status, err)
	}
	dir := filepath.Join(g.dir, "depot", "cw1", "processes", "once")
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the process directory is still there after its wait")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := c.Attach("once", client.ProcessIO{}); !errors.As(err, new(garden.ProcessNotFoundError)) {
		t.Fatalf("attach after the one wait: %v", err)
	}
}

func TestServesTCP(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := fmt.Sprint(ln.Addr().(*net.TCPAddr).Port)
	ln.Close()
	g := startGdn(t, "--bind-ip", "127.0.0.1", "--bind-port", port)
	c := g.create(garden.ContainerSpec{Handle: "tcp1"})
	if status, out, _ := run(t, c, "", "/bin/echo", "over tcp"); status != 0 || out != "over tcp\n" {
		t.Fatalf("run over TCP: %d %q", status, out)
	}
	if _, err := os.Stat(g.sock); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a TCP server also made its socket: %v", err)
	}
}

// --uid-map-start/--uid-map-length place container ids 1.. where the
// operator says; the image store is made with the same mapping.
func TestUIDMapRange(t *testing.T) {
	g := startGdn(t, "--uid-map-start", "100000", "--uid-map-length", "65536", "--gid-map-start", "200000", "--gid-map-length", "65536")
	c := g.create(garden.ContainerSpec{Handle: "ids1"})
	if status, _, errout := run(t, c, "", "/bin/sh", "-c", "touch /tmp/owned && chown 1000:1000 /tmp/owned"); status != 0 {
		t.Fatalf("chown in the container: %d %s", status, errout)
	}
	var st syscall.Stat_t
	path := filepath.Join(g.dir, "store", "volumes", "ids1", "upper", "tmp", "owned")
	if err := syscall.Stat(path, &st); err != nil {
		t.Fatal(err)
	}
	if st.Uid != 100999 || st.Gid != 200999 {
		t.Fatalf("container uid/gid 1000 is host %d/%d, want 100999/200999", st.Uid, st.Gid)
	}
	if _, out, _ := run(t, c, "", "/bin/cat", "/proc/self/uid_map"); !strings.Contains(strings.Join(strings.Fields(out), " "), "1 100000 65536") {
		t.Fatalf("uid_map in the container:\n%s", out)
	}
}

// A create that fails at any stage is undone: the client gets the stage's
// error and no tool keeps anything of it.
func TestFailedCreatesLeaveNothing(t *testing.T) {
	g := startGdn(t)
	keep := g.create(garden.ContainerSpec{Handle: "keep", Network: g.addr("1.0/30")})
	cases := []struct {
		stage string
		spec  garden.ContainerSpec
		want  string
	}{
		{"image plugin", garden.ContainerSpec{Handle: "f1", Image: garden.ImageRef{URI: "/no/such/rootfs"}}, "/no/such/rootfs"},
		{"bundle", garden.ContainerSpec{Handle: "f2", BindMounts: []garden.BindMount{{SrcPath: "/no/such/dir", DstPath: "/mnt"}}}, "/no/such/dir"},
		{"network", garden.ContainerSpec{Handle: "f3", Network: g.addr("1.2")}, ""},
	}
	for _, tc := range cases {
		_, err := g.client.Create(tc.spec)
		if err == nil {
			t.Fatalf("%s: create %s succeeded", tc.stage, tc.spec.Handle)
		}
		if tc.want != "" && !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %q does not name %q", tc.stage, err, tc.want)
		}
		t.Logf("%s stage: %v", tc.stage, err)
	}
	list, err := g.client.Containers(garden.Properties{"garden.state": "all"})
	if err != nil || len(list) != 1 || list[0].Handle() != "keep" {
		t.Fatalf("containers after failed creates: %v %v", list, err)
	}
	for _, tool := range [][]string{{"gdn-rootfs", "list"}, {"gdn-run", "list"}, {"gdn-net", "list"}} {
		if out := g.tool("", tool[0], tool[1:]...); strings.Contains(out, `"f1"`) || strings.Contains(out, `"f2"`) || strings.Contains(out, `"f3"`) {
			t.Errorf("%s list still names a failed create: %s", tool[0], out)
		}
	}
	// Nothing of the failed creates anywhere, while keep lives on.
	g.assertClean("keep")
	if _, err := keep.Info(); err != nil {
		t.Fatalf("the healthy container suffered: %v", err)
	}
}
