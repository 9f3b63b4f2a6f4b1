package server_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/gdn-dev/gdn/pkg/garden"
	"github.com/gdn-dev/gdn/pkg/garden/client"
)

// runAs runs a process as user to its end and returns status and stdout.
func runAs(t *testing.T, c client.Container, user, path string, args ...string) (int, string) {
	t.Helper()
	var out, errb bytes.Buffer
	p, err := c.Run(garden.ProcessSpec{Path: path, Args: args, User: user}, client.ProcessIO{Stdout: &out, Stderr: &errb})
	if err != nil {
		t.Fatalf("run %s as %q: %v", path, user, err)
	}
	status, err := p.Wait()
	if err != nil {
		t.Fatalf("wait %s: %v", path, err)
	}
	if status != 0 {
		t.Logf("%s as %q: status %d, stderr %s", path, user, status, errb.String())
	}
	return status, out.String()
}

// capSets reads the Cap* lines of /proc/self/status inside c, as user.
func capSets(t *testing.T, c client.Container, user string) map[string]uint64 {
	t.Helper()
	status, out := runAs(t, c, user, "/bin/cat", "/proc/self/status")
	if status != 0 {
		t.Fatalf("cat /proc/self/status as %q: %d", user, status)
	}
	return parseCaps(t, out)
}

func parseCaps(t *testing.T, status string) map[string]uint64 {
	t.Helper()
	sets := map[string]uint64{}
	for _, line := range strings.Split(status, "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok || !strings.HasPrefix(k, "Cap") {
			continue
		}
		n, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
		if err != nil {
			t.Fatalf("bad %s line %q", k, line)
		}
		sets[k] = n
	}
	return sets
}

func (g *gdn) privStore() string { return filepath.Join(g.dir, "store-privileged") }

// volumes lists the volumes of a store by gdn-rootfs.
func (g *gdn) volumes(store string) string {
	return g.tool("", "gdn-rootfs", "--store", store, "list")
}

// A privileged container's files belong to its root (uid 0), as the
// reference's privileged image store gives them: gdn-server keeps a second
// store without id mappings for privileged containers, needing no flag.
// The volume lives and dies there, and a startup sweep covers that store
// too.
func TestPrivilegedRootfsBelongsToRoot(t *testing.T) {
	g := startGdn(t)
	priv := g.create(garden.ContainerSpec{Handle: "priv", Privileged: true})
	unpriv := g.create(garden.ContainerSpec{Handle: "unpriv"})
	for _, c := range []client.Container{priv, unpriv} {
		status, out := runAs(t, c, "", "/bin/stat", "-c", "%u:%g", "/bin", "/etc/passwd")
		if status != 0 || out != "0:0\n0:0\n" {
			t.Errorf("%s: owners of /bin and /etc/passwd %q (status %d), want 0:0 (root's)", c.Handle(), out, status)
		}
	}
	// Root can write where root owns; what it writes is its own.
	if status, out := runAs(t, priv, "", "/bin/sh", "-c", "touch /bin/new && stat -c %u /bin/new"); status != 0 || out != "0\n" {
		t.Errorf("privileged root's new file: %q status %d", out, status)
	}
	if vols := g.volumes(g.privStore()); !strings.Contains(vols, `"priv"`) || strings.Contains(vols, `"unpriv"`) {
		t.Errorf("privileged store's volumes %s: want priv only", vols)
	}
	if vols := g.tool("", "gdn-rootfs", "list"); strings.Contains(vols, `"priv"`) {
		t.Errorf("the privileged container's volume is in the unprivileged store: %s", vols)
	}
	m, err := priv.Metrics()
	if err != nil || m.DiskStat.TotalBytesUsed == 0 {
		t.Errorf("privileged container's metrics %+v, %v", m.DiskStat, err)
	}

	// Orphans in the privileged store go at startup; a live container's
	// volume stays.
	g.stop(syscall.SIGKILL)
	g.tool("", "gdn-rootfs", "--store", g.privStore(), "create", g.rootfs, "orphan")
	g.start()
	if vols := g.volumes(g.privStore()); strings.Contains(vols, "orphan") || !strings.Contains(vols, `"priv"`) {
		t.Errorf("after restart the privileged store holds %s: want priv, not orphan", vols)
	}

	if err := g.client.Destroy("priv"); err != nil {
		t.Fatal(err)
	}
	if vols := g.volumes(g.privStore()); strings.Contains(vols, `"priv"`) {
		t.Errorf("destroy left the privileged volume: %s", vols)
	}
}

// A second server that would share a running server's privileged store
// refuses at once, naming it.
func TestSecondServerRefusesThePrivilegedStore(t *testing.T) {
	g := startGdn(t)
	other := t.TempDir()
	cmd := exec.Command(bin("gdn-server"), "--depot", filepath.Join(other, "d"), "--store", filepath.Join(other, "s"),
		"--privileged-store", g.privStore(), "--bind-socket", filepath.Join(other, "s.sock"),
		"--default-rootfs", g.rootfs, "--network-pool", g.addr("9.0/30"))
	cmd.Env = g.env
	out, err := cmd.CombinedOutput()
	want := fmt.Sprintf("another gdn-server (pid %d) serves privileged store %s", g.cmd.Process.Pid, g.privStore())
	if err == nil || !strings.Contains(string(out), want) {
		t.Errorf("second server: %v %q, want an error saying %q", err, out, want)
	}
}

// Capabilities as the reference's: root in a privileged container holds
// Guardian's list (up to CAP_AUDIT_READ, 37) within the host's bounding
// set; any other user is held to the unprivileged set plus SYS_ADMIN,
// even there; root in an unprivileged container gets the unprivileged set.
func TestCapabilitiesAsTheReference(t *testing.T) {
	host, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	hostBnd := parseCaps(t, string(host))["CapBnd"]
	const (
		reference = 1<<38 - 1 // CAP_CHOWN .. CAP_AUDIT_READ
		nonRoot   = 0xa82425fb
		unpriv    = nonRoot &^ (1 << 21) // no CAP_SYS_ADMIN
	)
	g := startGdn(t)
	priv := g.create(garden.ContainerSpec{Handle: "caps-priv", Privileged: true})
	root := capSets(t, priv, "")
	for _, set := range []string{"CapBnd", "CapEff", "CapPrm"} {
		if want := uint64(reference) & hostBnd; root[set] != want {
			t.Errorf("privileged root %s = %#x, want %#x", set, root[set], want)
		}
	}
	for _, user := range []string{"vcap", "1000:1000"} {
		c := capSets(t, priv, user)
		if c["CapBnd"] != nonRoot || c["CapInh"] != nonRoot {
			t.Errorf("privileged %s: CapBnd %#x CapInh %#x, want %#x", user, c["CapBnd"], c["CapInh"], uint64(nonRoot))
		}
		if c["CapEff"] != 0 || c["CapPrm"] != 0 || c["CapAmb"] != 0 {
			t.Errorf("privileged %s: CapEff %#x CapPrm %#x CapAmb %#x, want none", user, c["CapEff"], c["CapPrm"], c["CapAmb"])
		}
	}
	up := g.create(garden.ContainerSpec{Handle: "caps-unpriv"})
	if c := capSets(t, up, ""); c["CapBnd"] != unpriv || c["CapEff"] != unpriv {
		t.Errorf("unprivileged root: CapBnd %#x CapEff %#x, want %#x", c["CapBnd"], c["CapEff"], uint64(unpriv))
	}
	if c := capSets(t, up, "vcap"); c["CapBnd"] != unpriv || c["CapEff"] != 0 {
		t.Errorf("unprivileged vcap: CapBnd %#x CapEff %#x, want %#x and none", c["CapBnd"], c["CapEff"], uint64(unpriv))
	}
}

// Metrics.DiskStat counts what was just written, without waiting for btrfs
// to commit its transaction; the total scope includes the image, the
// exclusive one does not.
func TestDiskMetricsAreFresh(t *testing.T) {
	g := startGdn(t)
	for _, privileged := range []bool{false, true} {
		c := g.create(garden.ContainerSpec{Handle: fmt.Sprintf("disk-%t", privileged), Privileged: privileged})
		before, err := c.Metrics()
		if err != nil {
			t.Fatal(err)
		}
		if status, _ := runAs(t, c, "", "/bin/dd", "if=/dev/urandom", "of=/tmp/blob", "bs=1M", "count=3"); status != 0 {
			t.Fatalf("dd: %d", status)
		}
		after, err := c.Metrics()
		if err != nil {
			t.Fatal(err)
		}
		d := after.DiskStat
		image := before.DiskStat.TotalBytesUsed - before.DiskStat.ExclusiveBytesUsed
		if d.ExclusiveBytesUsed < 3<<20 {
			t.Errorf("privileged %t: exclusive %d bytes right after writing 3 MiB", privileged, d.ExclusiveBytesUsed)
		}
		if image == 0 || d.TotalBytesUsed != d.ExclusiveBytesUsed+image {
			t.Errorf("privileged %t: total %d, exclusive %d, image %d: want total = exclusive + image", privileged, d.TotalBytesUsed, d.ExclusiveBytesUsed, image)
		}
		// Bulk metrics tell the same.
		bulk, err := g.client.BulkMetrics([]string{c.Handle()})
		if err != nil || bulk[c.Handle()].Err != nil || bulk[c.Handle()].Metrics.DiskStat.ExclusiveBytesUsed < 3<<20 {
			t.Errorf("bulk metrics %+v, %v", bulk[c.Handle()], err)
		}
	}
}

// A privileged container made before the server had a privileged store
// (its volume in the unprivileged one) is still served: metrics find its
// volume, and destroy deletes it, asking both stores as the reference asks
// both plugins.
func TestPrivilegedContainerFromTheOldStore(t *testing.T) {
	g := startGdn(t)
	h := fmt.Sprintf("legacy%d", os.Getpid())
	// The tools as the server runs them: with its tag (its cgroup parent).
	env := g.env
	g.env = append(append([]string{}, env...), "GDN_TAG="+fmt.Sprintf("it%d", os.Getpid()%100000))
	partial := g.tool("", "gdn-rootfs", "create", g.rootfs, h)
	created := g.tool(partial, "gdn-depot", "--depot", filepath.Join(g.dir, "depot"), "create", h, "--privileged",
		"--init-bin", filepath.Join(g.dir, "gdn-init"))
	g.tool(created, "gdn-run", "create")
	g.env = env
	c, err := g.client.Lookup(h)
	if err != nil {
		t.Fatal(err)
	}
	if m, err := c.Metrics(); err != nil || m.DiskStat.TotalBytesUsed == 0 {
		t.Errorf("metrics %+v, %v", m.DiskStat, err)
	}
	if err := g.client.Destroy(h); err != nil {
		t.Fatal(err)
	}
	if vols := g.tool("", "gdn-rootfs", "list"); strings.Contains(vols, h) {
		t.Errorf("destroy left the volume in the unprivileged store: %s", vols)
	}
}
