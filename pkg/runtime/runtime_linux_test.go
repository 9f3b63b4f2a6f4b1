package runtime

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gdn-dev/gdn/pkg/bundle"
	"github.com/gdn-dev/gdn/pkg/errkind"
	"github.com/gdn-dev/gdn/pkg/testutil"
	"github.com/opencontainers/cgroups"
	"github.com/opencontainers/cgroups/manager"
	"golang.org/x/sys/unix"
)

// TestMain lets the test binary serve as the container bootstrap, as
// gdn-run does: libcontainer re-executes /proc/self/exe with "init".
func TestMain(m *testing.M) {
	HandleInit()
	os.Exit(m.Run())
}

// fixture is a runtime root plus what bundles need, in a directory the
// unprivileged container root can traverse.
type fixture struct {
	rt     *Runtime
	dir    string
	rootfs string
	init   string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	testutil.RequireRoot(t)
	dir := testutil.WorkDir(t)
	rt, err := New(Config{Root: filepath.Join(dir, "runtime")})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{rt: rt, dir: dir, rootfs: testutil.Rootfs(t, dir), init: testutil.InitBinary(t, dir)}
}

// bundle writes a bundle for h with the default rules and returns its path;
// the container is deleted when the test ends.
func (f *fixture) bundle(t *testing.T, h string, d bundle.Desired, initPath string) string {
	t.Helper()
	cfg, err := bundle.HostConfig()
	if err != nil {
		t.Fatal(err)
	}
	cfg.InitPath = initPath
	d.Handle, d.Rootfs, d.Created = h, f.rootfs, time.Now()
	spec, err := bundle.Generate(d, bundle.DefaultRules(cfg))
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(f.dir, "bundles", h)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	data, _ := json.Marshal(spec)
	if err := os.WriteFile(filepath.Join(dir, "config.json"), data, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.rt.Delete(context.Background(), h) })
	return dir
}

// assertGone checks that nothing of h is left: no state, no cgroup in any
// hierarchy.
func (f *fixture) assertGone(t *testing.T, h string) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(f.rt.root, h)); !os.IsNotExist(err) {
		t.Errorf("state directory of %s left behind", h)
	}
	dirs, err := cgroupDirs(filepath.Join(f.rt.cgroupParent, h))
	if err != nil {
		t.Fatal(err)
	}
	if len(dirs) > 0 {
		t.Errorf("cgroup of %s left behind: %v", h, dirs)
	}
}

func TestCreateStateDelete(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	h := "rt-create"
	b := f.bundle(t, h, bundle.Desired{Limits: bundle.Limits{MemoryBytes: 64 << 20, PidsMax: 30}}, f.init)

	created, err := f.rt.Create(ctx, h, b)
	if err != nil {
		t.Fatal(err)
	}
	pid := created.Pid
	st, err := f.rt.State(h)
	if err != nil || st.Status != "running" || st.Pid != pid || st.Bundle != b || st.Stopped {
		t.Fatalf("state %+v, %v", st, err)
	}
	if _, err := f.rt.Create(ctx, h, b); errkind.Of(err) != errkind.HandleInUse {
		t.Errorf("second create: %v, want HandleInUse", err)
	}
	pids, err := f.rt.Processes(h)
	if err != nil || len(pids) != 1 || pids[0] != pid {
		t.Errorf("processes %v, %v; want [%d]", pids, err, pid)
	}
	s, err := f.rt.Stats(h)
	// pids.current counts threads: just after Create the bootstrap may not
	// have exec'd the single-threaded init yet, so only bounds are certain.
	if err != nil || s.Memory.LimitBytes != 64<<20 || s.Pids.Limit != 30 || s.Pids.Current < 1 || s.Pids.Current > 30 {
		t.Errorf("stats %+v, %v", s, err)
	}

	existed, err := f.rt.Delete(ctx, h)
	if err != nil || !existed {
		t.Fatalf("delete: %v, %v", existed, err)
	}
	if err := exec.Command("kill", "-0", strconv.Itoa(pid)).Run(); err == nil {
		if state, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat"); !bytes.Contains(state, []byte(") Z ")) {
			t.Errorf("init %d still alive after delete", pid)
		}
	}
	f.assertGone(t, h)
	if existed, err := f.rt.Delete(ctx, h); err != nil || existed {
		t.Errorf("second delete: %v, %v; want nothing to do", existed, err)
	}
	if _, err := f.rt.State(h); errkind.Of(err) != errkind.ContainerNotFound {
		t.Errorf("state after delete: %v, want ContainerNotFound", err)
	}
}

func TestFailedCreateLeavesNothing(t *testing.T) {
	f := newFixture(t)
	h := "rt-badinit"
	bad := filepath.Join(f.dir, "not-executable")
	if err := os.WriteFile(bad, []byte("#"), 0o644); err != nil {
		t.Fatal(err)
	}
	b := f.bundle(t, h, bundle.Desired{Limits: bundle.Limits{MemoryBytes: 64 << 20}}, bad)
	if _, err := f.rt.Create(context.Background(), h, b); err == nil {
		t.Fatal("create with a non-executable init succeeded")
	}
	f.assertGone(t, h)

	if _, err := f.rt.Create(context.Background(), "rt-nobundle", filepath.Join(f.dir, "nope")); errkind.Of(err) != errkind.InvalidSpec {
		t.Errorf("missing bundle: %v, want InvalidSpec", err)
	}
	f.assertGone(t, "rt-nobundle")
}

// A gdn-run killed during create can leave a state directory without
// state.json and a cgroup made in some hierarchies only (libcontainer
// makes cpuset's first, and checks only devices' for existence), with a
// process in it; Delete must remove all of it and say it deleted.
func TestDeleteRemovesWhatAKilledCreateLeft(t *testing.T) {
	f := newFixture(t)
	h := "rt-orphan"
	cg := filepath.Join(DefaultCgroupParent, h)
	state := filepath.Join(f.rt.root, h)
	if err := os.MkdirAll(state, 0o711); err != nil {
		t.Fatal(err)
	}
	if err := writeCgroupRecord(state, cg); err != nil {
		t.Fatal(err)
	}
	sleeper := exec.Command("sleep", "1000")
	if err := sleeper.Start(); err != nil {
		t.Fatal(err)
	}
	defer sleeper.Wait()
	defer sleeper.Process.Kill()
	made := partialCgroup(t, cg, sleeper.Process.Pid)
	existed, err := f.rt.Delete(context.Background(), h)
	if err != nil || !existed {
		t.Errorf("delete orphan: %v, %v", existed, err)
	}
	// Delete waits for the processes it kills: ours is a zombie now.
	if stat, _ := os.ReadFile("/proc/" + strconv.Itoa(sleeper.Process.Pid) + "/stat"); !bytes.Contains(stat, []byte(") Z ")) {
		t.Error("the process in the orphan cgroup was not killed")
	}
	f.assertGone(t, h)
	for _, d := range made {
		if _, err := os.Stat(d); err == nil {
			t.Errorf("%s left behind", d)
		}
	}
}

// partialCgroup makes cgroup p in every hierarchy but devices' and puts
// pid into it where it can (v1 cpuset needs cpus first; any other takes
// it), as a create killed inside libcontainer's cgroup setup leaves it.
// It returns the directories made.
func partialCgroup(t *testing.T, p string, pid int) []string {
	t.Helper()
	mounts, err := cgroupMounts()
	if err != nil {
		t.Fatal(err)
	}
	var made []string
	joined := false
	for _, m := range mounts {
		if filepath.Base(m) == "devices" {
			continue
		}
		d := filepath.Join(m, p)
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		made = append(made, d)
		t.Cleanup(func() { os.Remove(d) })
		if !joined && filepath.Base(m) != "cpuset" {
			joined = os.WriteFile(filepath.Join(d, "cgroup.procs"), []byte(strconv.Itoa(pid)), 0) == nil
		}
	}
	if !joined {
		t.Fatal("no hierarchy took the process")
	}
	return made
}

// A cgroup of the handle's name that this runtime never recorded is
// another's (a second gdn instance's container of the same handle, or a
// test run's): Delete must leave it, and its process, alone, and Create
// must refuse to share it.
func TestDeleteLeavesACgroupItDidNotMake(t *testing.T) {
	f := newFixture(t)
	h := "rt-foreign"
	cg := filepath.Join(DefaultCgroupParent, h)
	sleeper := exec.Command("sleep", "1000")
	if err := sleeper.Start(); err != nil {
		t.Fatal(err)
	}
	defer sleeper.Wait()
	defer sleeper.Process.Kill()
	m, err := manager.New(&cgroups.Cgroup{Path: cg, Resources: &cgroups.Resources{}})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Apply(sleeper.Process.Pid); err != nil {
		t.Fatal(err)
	}
	defer func() { sleeper.Process.Kill(); sleeper.Wait(); m.Destroy() }()

	for _, withDir := range []bool{false, true} {
		// With or without a state directory (a create killed before it
		// recorded a cgroup), there is nothing of ours in the cgroup.
		if withDir {
			if err := os.MkdirAll(filepath.Join(f.rt.root, h), 0o711); err != nil {
				t.Fatal(err)
			}
		}
		existed, err := f.rt.Delete(context.Background(), h)
		if err != nil || existed != withDir {
			t.Errorf("delete (state dir %v): %v, %v", withDir, existed, err)
		}
		if err := unix.Kill(sleeper.Process.Pid, 0); err != nil {
			t.Fatalf("delete killed a process of a cgroup it did not make: %v", err)
		}
		if dirs, _ := cgroupDirs(cg); len(dirs) == 0 {
			t.Fatal("delete removed a cgroup it did not make")
		}
	}
	b := f.bundle(t, h, bundle.Desired{}, f.init)
	if _, err := f.rt.Create(context.Background(), h, b); errkind.Of(err) != errkind.HandleInUse {
		t.Errorf("create into another's cgroup: %v, want HandleInUse", err)
	}
	if err := unix.Kill(sleeper.Process.Pid, 0); err != nil {
		t.Fatalf("the refused create killed the other's process: %v", err)
	}
}

// Two runtimes with their own cgroup parents (two gdn instances) run a
// container of one handle each; deleting one leaves the other running, in
// its cgroup. A bundle whose cgroup is outside the runtime's parent is
// refused.
func TestTwoInstancesSameHandle(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	h := "rt-twin"
	other, err := New(Config{Root: filepath.Join(f.dir, "runtime-b"), CgroupParent: "/garden-rttestb"})
	if err != nil {
		t.Fatal(err)
	}
	bA := f.bundle(t, h, bundle.Desired{}, f.init)
	bB := filepath.Join(f.dir, "bundle-b")
	spec, _ := os.ReadFile(filepath.Join(bA, "config.json"))
	if err := os.MkdirAll(bB, 0o755); err != nil {
		t.Fatal(err)
	}
	spec = bytes.Replace(spec, []byte(`"cgroupsPath":"/garden/`+h+`"`), []byte(`"cgroupsPath":"/garden-rttestb/`+h+`"`), 1)
	if err := os.WriteFile(filepath.Join(bB, "config.json"), spec, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := other.Create(ctx, h, bA); errkind.Of(err) != errkind.InvalidSpec {
		t.Errorf("a bundle outside the runtime's cgroup parent: %v, want InvalidSpec", err)
	}
	a, err := f.rt.Create(ctx, h, bA)
	if err != nil {
		t.Fatal(err)
	}
	b, err := other.Create(ctx, h, bB)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Delete(ctx, h)
	if existed, err := f.rt.Delete(ctx, h); err != nil || !existed {
		t.Fatalf("delete a: %v %v", existed, err)
	}
	f.assertGone(t, h)
	if st, err := other.State(h); err != nil || st.Status != "running" || st.Pid != b.Pid {
		t.Errorf("b after deleting a: %+v %v", st, err)
	}
	if dirs, err := cgroupDirs("/garden-rttestb/" + h); len(dirs) == 0 {
		t.Errorf("b's cgroup is gone (%v)", err)
	}
	if pids, err := other.Processes(h); err != nil || len(pids) != 1 || pids[0] != b.Pid {
		t.Errorf("b's cgroup holds %v (%v), want its init %d", pids, err, b.Pid)
	}
	_ = a
	if existed, err := other.Delete(ctx, h); err != nil || !existed {
		t.Fatalf("delete b: %v %v", existed, err)
	}
	if dirs, _ := cgroupDirs("/garden-rttestb/" + h); len(dirs) > 0 {
		t.Errorf("b's cgroup left: %v", dirs)
	}
	if dirs, _ := cgroupDirs("/garden-rttestb"); len(dirs) > 0 {
		rmdirTrees(dirs) // the test's parent; the runtime never removes one
	}
}

func TestStopKeepsInitAndMarksStopped(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	h := "rt-stop"
	created, err := f.rt.Create(ctx, h, f.bundle(t, h, bundle.Desired{}, f.init))
	if err != nil {
		t.Fatal(err)
	}
	pid := created.Pid
	// Two background sleepers, one ignoring TERM: Stop must end both.
	// (Their stdio is /dev/null so that the output copy can end.)
	script := "sleep 1000 >/dev/null 2>&1 & (trap '' TERM; sleep 1000) >/dev/null 2>&1 & echo started"
	if status, out, err := f.exec(t, h, ExecSpec{Args: []string{"sh", "-c", script}}); err != nil || status != 0 {
		t.Fatalf("exec: %d, %v: %s", status, err, out)
	}
	if pids, _ := f.rt.Processes(h); len(pids) < 3 {
		t.Fatalf("want init and sleepers, got %v", pids)
	}
	if err := f.rt.Stop(ctx, h, false); err != nil {
		t.Fatal(err)
	}
	pids, _ := f.rt.Processes(h)
	if len(pids) != 1 || pids[0] != pid {
		t.Errorf("after stop: %v, want only init %d", pids, pid)
	}
	if st, _ := f.rt.State(h); !st.Stopped || st.Status != "running" {
		t.Errorf("after stop: %+v, want stopped with init running", st)
	}
}

func TestExecUserLookupAndExitStatus(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	h := "rt-exec"
	if _, err := f.rt.Create(ctx, h, f.bundle(t, h, bundle.Desired{Env: []string{"FROM_CONTAINER=1"}}, f.init)); err != nil {
		t.Fatal(err)
	}
	run := func(spec ExecSpec) (int, string, error) { return f.exec(t, h, spec) }
	status, out, err := run(ExecSpec{Args: []string{"sh", "-c", "id -u; id -g; pwd; echo $USER $FROM_CONTAINER $PATH"}, User: "vcap"})
	if err != nil || status != 0 {
		t.Fatalf("exec as vcap: %d %v %s", status, err, out)
	}
	want := "1000\n1000\n/home/vcap\nvcap 1 " + userPath
	if out != want {
		t.Errorf("exec as vcap printed %q, want %q", out, want)
	}
	if status, _, _ := run(ExecSpec{Args: []string{"sh", "-c", "kill -9 $$"}}); status != 137 {
		t.Errorf("a SIGKILLed process reports %d, want 137", status)
	}
	if _, _, err := run(ExecSpec{Args: []string{"/no/such/binary"}}); errkind.Of(err) != errkind.ExecutableNotFound {
		t.Errorf("missing binary: %v, want ExecutableNotFound", err)
	}
	if _, _, err := run(ExecSpec{Args: []string{"true"}, User: "nosuchuser"}); errkind.Of(err) != errkind.InvalidSpec {
		t.Errorf("unknown user: %v, want InvalidSpec", err)
	}
}

// A container's /etc/passwd that is a symlink to a host path must not make
// the user lookup read the host file.
func TestUserLookupStaysInsideTheContainer(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	h := "rt-symlink"
	hostFile := filepath.Join(f.dir, "host-passwd")
	if err := os.WriteFile(hostFile, []byte("evil:x:4242:4242::/:/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	passwd := filepath.Join(f.rootfs, "etc", "passwd")
	os.Remove(passwd)
	if err := os.Symlink(hostFile, passwd); err != nil {
		t.Fatal(err)
	}
	if _, err := f.rt.Create(ctx, h, f.bundle(t, h, bundle.Desired{}, f.init)); err != nil {
		t.Fatal(err)
	}
	status, out, err := f.exec(t, h, ExecSpec{Args: []string{"id", "-u"}, User: "evil"})
	if err == nil {
		t.Fatalf("user from a host file resolved: status %d, output %q", status, out)
	}
}

func TestExecInStoppedContainer(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	h := "rt-dead"
	if _, err := f.rt.Create(ctx, h, f.bundle(t, h, bundle.Desired{}, f.init)); err != nil {
		t.Fatal(err)
	}
	if err := f.rt.Kill(h, 9, false); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if st, _ := f.rt.State(h); st.Status == "stopped" {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	_, _, err := f.exec(t, h, ExecSpec{Args: []string{"true"}})
	if errkind.Of(err) != errkind.ContainerNotRunning {
		t.Errorf("exec in a dead container: %v, want ContainerNotRunning", err)
	}
	if existed, err := f.rt.Delete(ctx, h); err != nil || !existed {
		t.Errorf("delete of a dead container: %v %v", existed, err)
	}
	f.assertGone(t, h)
}

// exec runs spec in h as dadoo would, with this test as the process's
// parent, and returns its exit status and combined output.
func (f *fixture) exec(t *testing.T, h string, spec ExecSpec) (int, string, error) {
	t.Helper()
	p, err := f.rt.PrepareProcess(h, spec)
	if err != nil {
		return 0, "", err
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	devnull, _ := os.Open(os.DevNull)
	defer devnull.Close()
	pid, err := f.rt.StartProcess(h, p, ProcessIO{Stdin: devnull, Stdout: w, Stderr: w})
	w.Close()
	if err != nil {
		r.Close()
		return 0, "", err
	}
	out, _ := io.ReadAll(r)
	r.Close()
	var ws unix.WaitStatus
	if _, err := unix.Wait4(pid, &ws, 0, nil); err != nil {
		t.Fatal(err)
	}
	status := ws.ExitStatus()
	if ws.Signaled() {
		status = 128 + int(ws.Signal())
	}
	return status, strings.TrimSpace(string(out)), nil
}

// TestNamespacesReadyComesEarly: Create reports the init's pid once, while
// the init is still setting up (its seccomp filter is not loaded yet), in
// namespaces of its own; the pid is the container's init, and runc's state
// holds no trace of the in-process hook.
func TestNamespacesReadyComesEarly(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	h := "rt-early"
	b := f.bundle(t, h, bundle.Desired{}, f.init)
	self, _ := os.Readlink("/proc/self/ns/net")
	var calls []int
	var seccompAtCall, netnsAtCall string
	created, err := f.rt.Create(ctx, h, b, NamespacesReady(func(pid int) {
		calls = append(calls, pid)
		netnsAtCall, _ = os.Readlink("/proc/" + strconv.Itoa(pid) + "/ns/net")
		status, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
		for _, l := range strings.Split(string(status), "\n") {
			if v, ok := strings.CutPrefix(l, "Seccomp:"); ok {
				seccompAtCall = strings.TrimSpace(v)
			}
		}
	}))
	if err != nil {
		t.Fatal(err)
	}
	if len(calls) != 1 || calls[0] != created.Pid {
		t.Fatalf("NamespacesReady called with %v, want once with the init's pid %d", calls, created.Pid)
	}
	if netnsAtCall == "" || netnsAtCall == self {
		t.Errorf("network namespace at the call %q: not the container's own (ours %q)", netnsAtCall, self)
	}
	if seccompAtCall != "0" {
		t.Errorf("seccomp mode of the init at the call: %q, want 0 (its setup still ahead)", seccompAtCall)
	}
	raw, err := os.ReadFile(filepath.Join(f.rt.Root(), h, "state.json"))
	if err != nil {
		t.Fatal(err)
	}
	var state struct {
		Config struct {
			Hooks map[string][]json.RawMessage `json:"Hooks"`
		} `json:"config"`
	}
	if err := json.Unmarshal(raw, &state); err != nil {
		t.Fatal(err)
	}
	if state.Config.Hooks == nil {
		t.Fatalf("state.json has no hooks object to check: %.300s", raw)
	}
	for name, hooks := range state.Config.Hooks {
		if len(hooks) > 0 {
			t.Errorf("state.json holds %s hooks: %s", name, hooks)
		}
	}
}

// TestNoRootNoTrace: queries and deletes against a runtime root that does
// not exist find nothing and do not make it (a pea's monitor deletes its
// pea when the pea ends, perhaps after its server's directories went).
func TestNoRootNoTrace(t *testing.T) {
	root := filepath.Join(t.TempDir(), "gone", "run")
	rt, err := New(Config{Root: root})
	if err != nil {
		t.Fatal(err)
	}
	if existed, err := rt.Delete(context.Background(), "rt-none"); err != nil || existed {
		t.Errorf("delete: %v, %v; want nothing to do", existed, err)
	}
	if _, err := rt.State("rt-none"); errkind.Of(err) != errkind.ContainerNotFound {
		t.Errorf("state: %v, want ContainerNotFound", err)
	}
	if l, err := rt.List(); err != nil || len(l) != 0 {
		t.Errorf("list: %v, %v; want none", l, err)
	}
	if _, err := os.Stat(filepath.Dir(root)); !os.IsNotExist(err) {
		t.Errorf("the root's directory was made: %v", err)
	}
}
