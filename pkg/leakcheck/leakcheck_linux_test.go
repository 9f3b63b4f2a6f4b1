package leakcheck

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gdn-dev/gdn/pkg/bundle"
	"github.com/gdn-dev/gdn/pkg/testutil"
	"golang.org/x/sys/unix"
)

// fixture is one test's instance homes and names, and another instance's
// names (the same handles under another parent and table).
type fixture struct {
	dir                     string
	inst                    Instance
	otherParent, otherTable string
	id                      string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	testutil.RequireRoot(t)
	id := strconv.Itoa(os.Getpid() % 100000)
	dir := testutil.WorkDir(t)
	f := &fixture{dir: dir, id: id, otherParent: "/lkother" + id, otherTable: "lkother" + id}
	f.inst = Instance{
		Depot: filepath.Join(dir, "depot"), Store: filepath.Join(dir, "store"),
		RuntimeRoot: filepath.Join(dir, "run"), NetState: filepath.Join(dir, "net"),
		NftTable: "lktest" + id, CgroupParent: "/lktest" + id,
	}
	t.Cleanup(func() { // after every test's own cleanups
		for _, h := range hierarchies(t) {
			_ = os.Remove(filepath.Join(h, f.otherParent))
			_ = os.Remove(filepath.Join(h, f.inst.CgroupParent))
		}
	})
	return f
}

// hierarchies lists each mounted cgroup hierarchy's root directory, found
// independently of the code under test (every dir of /sys/fs/cgroup with
// a cgroup.procs).
func hierarchies(t *testing.T) []string {
	t.Helper()
	var out []string
	seen := map[string]bool{}
	ds, _ := filepath.Glob("/sys/fs/cgroup/*/cgroup.procs")
	for _, d := range ds {
		real, err := filepath.EvalSymlinks(filepath.Dir(d))
		if err == nil && !seen[real] {
			seen[real] = true
			out = append(out, filepath.Dir(d))
		}
	}
	if len(out) == 0 {
		t.Skip("no cgroup hierarchies under /sys/fs/cgroup")
	}
	return out
}

// mkCgroup makes parent/name in every hierarchy, removed at cleanup.
func mkCgroup(t *testing.T, parent, name string) []string {
	t.Helper()
	var made []string
	for _, h := range hierarchies(t) {
		p := filepath.Join(h, parent, name)
		if err := os.MkdirAll(p, 0o755); err != nil {
			t.Fatal(err)
		}
		made = append(made, p)
		t.Cleanup(func() {
			// A member killed at cleanup leaves the cgroup a moment later.
			for i := 0; i < 100 && errors.Is(os.Remove(p), unix.EBUSY); i++ {
				time.Sleep(10 * time.Millisecond)
			}
		})
	}
	return made
}

func run(t *testing.T, name string, args ...string) {
	t.Helper()
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v: %s", name, strings.Join(args, " "), err, out)
	}
}

// mkLink makes a device (a bridge: this kernel has no dummy) with an
// alias.
func mkLink(t *testing.T, name, alias string) {
	t.Helper()
	run(t, "ip", "link", "add", name, "type", "bridge")
	t.Cleanup(func() { _ = exec.Command("ip", "link", "del", name).Run() })
	run(t, "ip", "link", "set", name, "alias", alias)
}

// mkTable makes an nft table with a base chain holding a rule commented
// for handle h, a rule for a subnet, a container chain, and bridge in its
// set of bridges.
func mkTable(t *testing.T, table, h, bridge string) {
	t.Helper()
	t.Cleanup(func() { _ = exec.Command("nft", "delete", "table", "ip", table).Run() })
	script := fmt.Sprintf(`add table ip %[1]s
add chain ip %[1]s forward
add chain ip %[1]s c-%[2]s
add rule ip %[1]s forward counter comment "handle %[2]s"
add rule ip %[1]s forward counter comment "subnet 10.99.0.0/30"
add rule ip %[1]s forward counter comment "gdn base forward"
add set ip %[1]s bridges { type ifname; }
add element ip %[1]s bridges { "%[3]s" }
`, table, h, bridge)
	cmd := exec.Command("nft", "-f", "-")
	cmd.Stdin = strings.NewReader(script)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("nft: %v: %s", err, out)
	}
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func mkdir(t *testing.T, path string) {
	t.Helper()
	if err := os.MkdirAll(path, 0o755); err != nil {
		t.Fatal(err)
	}
}

// bindMount bind-mounts a fresh dir on path, unmounted at cleanup.
func bindMount(t *testing.T, path string) {
	t.Helper()
	src := t.TempDir()
	mkdir(t, path)
	if err := unix.Mount(src, path, "", unix.MS_BIND, ""); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = unix.Unmount(path, unix.MNT_DETACH) })
}

// waiter starts a shell that waits for its stdin to close, with args in
// its command line; it ends at cleanup.
func waiter(t *testing.T, argv0 string, args ...string) (*exec.Cmd, io.WriteCloser) {
	t.Helper()
	cmd := exec.Command("/bin/sh")
	cmd.Args = append([]string{argv0, "-c", "read x"}, args...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	return cmd, stdin
}

func joinCgroup(t *testing.T, cgdir string, pid int) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(cgdir, "cgroup.procs"), []byte(strconv.Itoa(pid)), 0o644); err != nil {
		t.Fatal(err)
	}
}

// checkLeaks runs Check and returns its leaks by kind and what.
func checkLeaks(t *testing.T, inst Instance) map[string]Leak {
	t.Helper()
	leaks, err := inst.Check()
	if err != nil {
		t.Fatalf("Check: %v", err)
	}
	out := map[string]Leak{}
	for _, l := range leaks {
		out[l.Kind+" "+l.What] = l
	}
	return out
}

func TestReportsEachLeftoverOfItsInstanceOnly(t *testing.T) {
	f := newFixture(t)
	in := f.inst
	h := "lk-c1"

	// Ours.
	cgs := mkCgroup(t, in.CgroupParent, h)
	mkLink(t, "lkv"+f.id, "gdn-net "+in.NftTable+" "+h)
	mkLink(t, "lkb"+f.id, "gdn-net "+in.NftTable)
	mkTable(t, in.NftTable, h, "lkb"+f.id)
	mkdir(t, filepath.Join(in.Depot, h))
	mkdir(t, filepath.Join(in.Depot, ".trash", "lk-c2~x1"))
	bindMount(t, filepath.Join(in.Depot, "lk-c3", "mnt"))
	mkdir(t, filepath.Join(in.RuntimeRoot, "lk-c4"))
	mkdir(t, filepath.Join(in.Store, "volumes", "lk-c5"))
	bindMount(t, filepath.Join(in.Store, "volumes", "lk-c5", "rootfs"))
	write(t, filepath.Join(in.NetState, "containers", "lk-c6.json"), `{"handle":"lk-c6"}`)
	write(t, filepath.Join(in.NetState, "subnets.json"), `{"dynamic":"10.99.0.0/22","allocated":{"10.99.0.4/30":["10.99.0.6"]}}`)
	write(t, filepath.Join(in.NetState, "ports.json"), `{"start":62901,"size":3,"free":[62902,62903]}`)
	inCg, _ := waiter(t, "sh")
	joinCgroup(t, cgs[0], inCg.Process.Pid)
	dadoo, _ := waiter(t, "/usr/local/bin/dadoo", "-runtime-root", in.RuntimeRoot, "exec", "lk-c7", filepath.Join(in.Depot, "lk-c7", "processes", "p1"))

	// Another instance's: the same handle under another parent and table.
	mkCgroup(t, f.otherParent, h)
	mkLink(t, "lko"+f.id, "gdn-net "+f.otherTable+" "+h)
	mkLink(t, "lkp"+f.id, "gdn-net "+f.otherTable)
	mkTable(t, f.otherTable, h, "lkp"+f.id)
	otherProc, _ := waiter(t, "sh")
	joinCgroup(t, filepath.Join(hierarchies(t)[0], f.otherParent, h), otherProc.Process.Pid)
	waiter(t, "/usr/local/bin/dadoo", "-runtime-root", filepath.Join(f.dir, "other-run"), "exec", "lk-c7", filepath.Join(f.dir, "other-depot", "lk-c7", "processes", "p1"))

	got := checkLeaks(t, in)
	want := []Leak{
		{KindDepot, h, filepath.Join(in.Depot, h)},
		{KindDepot, "lk-c3", filepath.Join(in.Depot, "lk-c3")},
		{KindTrash, "lk-c2", filepath.Join(in.Depot, ".trash", "lk-c2~x1")},
		{KindMount, "lk-c3", filepath.Join(in.Depot, "lk-c3", "mnt") + " (ext4)"},
		{KindMount, "lk-c5", filepath.Join(in.Store, "volumes", "lk-c5", "rootfs") + " (ext4)"},
		{KindRuntime, "lk-c4", filepath.Join(in.RuntimeRoot, "lk-c4")},
		{KindVolume, "lk-c5", filepath.Join(in.Store, "volumes", "lk-c5")},
		{KindNetState, "lk-c6", filepath.Join(in.NetState, "containers", "lk-c6.json")},
		{KindSubnet, "", "10.99.0.6 in 10.99.0.4/30"},
		{KindPort, "", "62901"},
		{KindLink, h, "lkv" + f.id},
		{KindLink, "", "lkb" + f.id + " (bridge)"},
		{KindChain, "", in.NftTable + " c-" + h},
		{KindRule, h, in.NftTable + ` forward "handle ` + h + `"`},
		{KindRule, "", in.NftTable + ` forward "subnet 10.99.0.0/30"`},
		{KindSetElement, "", in.NftTable + " bridges lkb" + f.id},
		{KindProcess, "lk-c7", fmt.Sprintf("%d (sh) dadoo", dadoo.Process.Pid)},
	}
	for _, cg := range cgs {
		want = append(want, Leak{KindCgroup, h, cg})
	}
	for _, w := range want {
		key := w.Kind + " " + w.What
		if w.Kind == KindMount {
			// The file system type is /tmp's: match by path.
			key = ""
			for k, l := range got {
				if l.Kind == KindMount && strings.HasPrefix(l.What, strings.TrimSuffix(w.What, " (ext4)")+" (") {
					key = k
				}
			}
		}
		if l, ok := got[key]; !ok || l.Handle != w.Handle {
			t.Errorf("missing %s (got %v)", w, l)
		}
		delete(got, key)
	}
	// The process in our cgroup is reported once, in one of its
	// hierarchies' paths.
	found := false
	for k, l := range got {
		if l.Kind == KindProcess && strings.HasPrefix(l.What, fmt.Sprintf("%d (sh) in cgroup %s/%s", inCg.Process.Pid, in.CgroupParent, h)) {
			found = true
			delete(got, k)
		}
	}
	if !found {
		t.Errorf("the process in %s/%s is not reported", in.CgroupParent, h)
	}
	for _, l := range got {
		t.Errorf("unexpected leak %s", l)
	}
}

func TestExceptKeepsALiveNeighbour(t *testing.T) {
	f := newFixture(t)
	in := f.inst
	live, gone := "lk-live", "lk-gone"
	mkCgroup(t, in.CgroupParent, live)
	goneCgs := mkCgroup(t, in.CgroupParent, gone)
	mkLink(t, "lkv"+f.id, "gdn-net "+in.NftTable+" "+live)
	mkLink(t, "lkb"+f.id, "gdn-net "+in.NftTable)
	mkTable(t, in.NftTable, live, "lkb"+f.id)
	mkdir(t, filepath.Join(in.Depot, live))
	write(t, filepath.Join(in.Depot, live, "properties.json"), `{"gdn.pea-volumes":"lk-peavol"}`)
	mkdir(t, filepath.Join(in.Store, "volumes", live))
	mkdir(t, filepath.Join(in.Store, "volumes", "lk-peavol"))
	// A pea of the live container: its runtime state names a bundle in
	// the container's depot dir, and it has a cgroup of its own.
	write(t, filepath.Join(in.RuntimeRoot, "lk-pea1", "state.json"),
		`{"config":{"labels":["bundle=`+filepath.Join(in.Depot, live, "processes", "lk-pea1")+`"]}}`)
	mkCgroup(t, in.CgroupParent, "lk-pea1")
	mkdir(t, filepath.Join(in.RuntimeRoot, live))
	write(t, filepath.Join(in.NetState, "containers", live+".json"),
		`{"handle":"lk-live","subnet":"10.99.0.0/30","ip":"10.99.0.2","bridge":"lkb`+f.id+`","chain":"c-lk-live","mapped_ports":[{"HostPort":62901,"ContainerPort":8080}]}`)
	write(t, filepath.Join(in.NetState, "subnets.json"), `{"allocated":{"10.99.0.0/30":["10.99.0.2"]}}`)
	write(t, filepath.Join(in.NetState, "ports.json"), `{"start":62901,"size":2,"free":[62902]}`)
	waiter(t, "dadoo", "-runtime-root", in.RuntimeRoot, "exec", live, filepath.Join(in.Depot, live, "processes", "p1"))

	got := checkLeaks(t, in.Except(live))
	if len(got) != len(goneCgs) {
		t.Errorf("want only %s's cgroups, got %v", gone, got)
	}
	for _, cg := range goneCgs {
		if _, ok := got[KindCgroup+" "+cg]; !ok {
			t.Errorf("missing cgroup %s", cg)
		}
	}
	// Without the exception, the neighbour is all leaks.
	if n := len(checkLeaks(t, in)); n < 15 {
		t.Errorf("without Except only %d leaks", n)
	}
}

func TestOwnedScopesASharedParent(t *testing.T) {
	f := newFixture(t)
	in := f.inst
	mine := mkCgroup(t, in.CgroupParent, "run1-c")
	mkCgroup(t, in.CgroupParent, "run2-c")
	p, _ := waiter(t, "sh")
	joinCgroup(t, filepath.Join(hierarchies(t)[0], in.CgroupParent, "run2-c"), p.Process.Pid)
	in.Owned = func(h string) bool { return strings.HasPrefix(h, "run1-") }
	got := checkLeaks(t, Instance{CgroupParent: in.CgroupParent, Owned: in.Owned})
	if len(got) != len(mine) {
		t.Errorf("want only run1-c's cgroups, got %v", got)
	}
}

// A zombie in the instance's cgroup is not reported. (On this kernel a
// zombie's /proc/PID/cgroup already reads "/", so this holds even without
// Check's own test of the process state; it guards the outcome.)
func TestZombiesCountAsGone(t *testing.T) {
	f := newFixture(t)
	cgs := mkCgroup(t, f.inst.CgroupParent, "lk-z")
	cmd, stdin := waiter(t, "sh")
	joinCgroup(t, cgs[0], cmd.Process.Pid)
	stdin.Close() // it exits; unwaited, it stays a zombie
	for {
		if _, st, ok := procStat(cmd.Process.Pid); ok && st == 'Z' {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	for _, l := range checkLeaks(t, Instance{CgroupParent: f.inst.CgroupParent}) {
		if l.Kind == KindProcess {
			t.Errorf("a zombie reported: %s", l)
		}
	}
}

// A subvolume outside volumes/ (in a loop-mounted btrfs store) is
// reported; the store's own mount is not a leak.
func TestSubvolumesOfTheStore(t *testing.T) {
	f := newFixture(t)
	if _, err := exec.LookPath("mkfs.btrfs"); err != nil {
		t.Skip("no mkfs.btrfs")
	}
	img := filepath.Join(f.dir, "store.img")
	run(t, "truncate", "-s", "128M", img)
	run(t, "mkfs.btrfs", "-q", img)
	mkdir(t, f.inst.Store)
	run(t, "mount", "-o", "loop", img, f.inst.Store)
	t.Cleanup(func() { _ = exec.Command("umount", "-l", f.inst.Store).Run() })
	mkdir(t, filepath.Join(f.inst.Store, "volumes"))
	run(t, "btrfs", "-q", "subvolume", "create", filepath.Join(f.inst.Store, "volumes", "lk-v1"))
	run(t, "btrfs", "-q", "subvolume", "create", filepath.Join(f.inst.Store, "stray"))
	mkdir(t, filepath.Join(f.inst.Store, "layers", "l1"))
	got := checkLeaks(t, Instance{Store: f.inst.Store})
	for _, w := range []Leak{
		{KindVolume, "lk-v1", filepath.Join(f.inst.Store, "volumes", "lk-v1")},
		{KindSubvolume, "", filepath.Join(f.inst.Store, "stray")},
	} {
		if l, ok := got[w.Kind+" "+w.What]; !ok || l != w {
			t.Errorf("missing %s", w)
		}
		delete(got, w.Kind+" "+w.What)
	}
	for _, l := range got {
		t.Errorf("unexpected leak %s", l)
	}
}

// sleeper starts a copy of the static init, chrooted into root, where it
// is root/tmp/garden-init; it is killed at cleanup.
func sleeper(t *testing.T, root string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(initMountPath)
	cmd.SysProcAttr = &syscall.SysProcAttr{Chroot: root}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return cmd
}

// Two runs share a parent and a handle name: with InitBin, the other
// run's live container (its init is another file) is not this run's leak.
func TestInitBinTellsInstancesApart(t *testing.T) {
	f := newFixture(t)
	ours := testutil.InitBinary(t, f.dir)
	mineRoot, theirRoot := filepath.Join(f.dir, "mine"), filepath.Join(f.dir, "theirs")
	mkdir(t, filepath.Join(mineRoot, "tmp"))
	mkdir(t, filepath.Join(theirRoot, "tmp"))
	if err := os.Link(ours, filepath.Join(mineRoot, initMountPath)); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(ours)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(theirRoot, initMountPath), data, 0o755); err != nil {
		t.Fatal(err)
	}
	mine := mkCgroup(t, f.inst.CgroupParent, "lk-mine")
	theirs := mkCgroup(t, f.inst.CgroupParent, "lk-theirs")
	joinCgroup(t, mine[0], sleeper(t, mineRoot).Process.Pid)
	joinCgroup(t, theirs[0], sleeper(t, theirRoot).Process.Pid)

	inst := Instance{CgroupParent: f.inst.CgroupParent, InitBin: ours}
	got := checkLeaks(t, inst)
	for _, l := range got {
		if l.Handle != "lk-mine" {
			t.Errorf("another instance's reported: %s", l)
		}
	}
	if len(got) != len(mine)+1 { // its cgroups and its init
		t.Errorf("want lk-mine's %d cgroups and its process, got %v", len(mine), got)
	}
	inst.InitBin = ""
	if got := checkLeaks(t, inst); len(got) != 2*(len(mine)+1) {
		t.Errorf("without InitBin both are leaks, got %d: %v", len(got), got)
	}
}

func TestInitMountPathIsTheBundles(t *testing.T) {
	if initMountPath != bundle.InitMountPath {
		t.Errorf("initMountPath %q, the bundle mounts the init at %q", initMountPath, bundle.InitMountPath)
	}
}
