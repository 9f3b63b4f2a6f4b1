package runtime

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/gdn-dev/gdn/pkg/bundle"
	"github.com/gdn-dev/gdn/pkg/errkind"
	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// overlayRoot is an image plugin's unmounted overlay: the fixture's
// rootfs as its lower layer, upper and work in the test's directory,
// and an empty root.path.
type overlayRoot struct {
	mnt, upper, work string
}

func newOverlayRoot(t *testing.T, f *fixture, h string, hostRoot int) overlayRoot {
	t.Helper()
	base := filepath.Join(f.dir, "volumes", h)
	o := overlayRoot{mnt: filepath.Join(base, "rootfs"), upper: filepath.Join(base, "upper"), work: filepath.Join(base, "work")}
	for _, d := range []string{o.mnt, o.upper, o.work} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// The upper layer's root is container root's, as gdn-rootfs makes it.
	if err := os.Chown(o.upper, hostRoot, hostRoot); err != nil {
		t.Fatal(err)
	}
	return o
}

// containerRootUID is the host uid of unprivileged container root.
func containerRootUID(t *testing.T) int {
	t.Helper()
	cfg, err := bundle.HostConfig()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range cfg.UIDMappings {
		if m.ContainerID == 0 {
			return int(m.HostID)
		}
	}
	t.Fatal("no mapping of container root")
	return 0
}

// rootBundle writes h's bundle with the overlay, with extra options, as
// its first mount.
func (f *fixture) rootBundle(t *testing.T, h string, o overlayRoot, privileged bool, extra ...string) string {
	t.Helper()
	opts := append([]string{"lowerdir=" + f.rootfs, "upperdir=" + o.upper, "workdir=" + o.work}, extra...)
	m := specs.Mount{Destination: "/", Type: "overlay", Source: "overlay", Options: opts}
	g := *f
	g.rootfs = o.mnt
	return g.bundle(t, h, bundle.Desired{Privileged: privileged, ImageMounts: []specs.Mount{m}}, f.init)
}

// mountedAnywhere lists the mount table lines, in any process but this
// one, that contain s (a namespace lives as long as a process in it).
// This process is left out: libcontainer's parent side joins the
// container's mount namespace on a locked thread to open mount sources,
// and a locked thread that is the process's main thread cannot end, so
// it keeps that namespace for the rest of the process. gdn-run is a
// short-lived process; the test binary is not.
func mountedAnywhere(t *testing.T, s string) []string {
	t.Helper()
	var where []string
	self := "/proc/" + strconv.Itoa(os.Getpid()) + "/"
	files, _ := filepath.Glob("/proc/[0-9]*/mountinfo")
	for _, p := range files {
		if strings.HasPrefix(p, self) {
			continue
		}
		data, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		for _, l := range strings.Split(string(data), "\n") {
			if strings.Contains(l, s) {
				where = append(where, p+": "+l)
			}
		}
	}
	return where
}

// sharedMount makes dir a shared mount (as systemd makes every mount),
// so that a mount made below it in a namespace that copied the host's
// without a user namespace would propagate back to the host.
func sharedMount(t *testing.T, dir string) {
	t.Helper()
	if err := unix.Mount(dir, dir, "", unix.MS_BIND, ""); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = unix.Unmount(dir, unix.MNT_DETACH) })
	if err := unix.Mount("", dir, "", unix.MS_SHARED, ""); err != nil {
		t.Fatal(err)
	}
}

func hostMountinfoHas(t *testing.T, point string) bool {
	t.Helper()
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Contains(data, []byte(" "+point+" "))
}

// TestRootMountOnlyInContainer: a rootfs given as a mount on "/" is
// mounted in the container's namespace, never on the host (with or
// without a user namespace: a privileged container's namespace shares the
// host's propagation until it is made a slave), and goes with the
// container.
func TestRootMountOnlyInContainer(t *testing.T) {
	for _, privileged := range []bool{false, true} {
		t.Run("privileged="+strconv.FormatBool(privileged), func(t *testing.T) {
			f := newFixture(t)
			ctx := context.Background()
			h := "rt-rootmount-" + strconv.FormatBool(privileged)
			sharedMount(t, f.dir)
			hostRoot := 0
			if !privileged {
				hostRoot = containerRootUID(t)
			}
			o := newOverlayRoot(t, f, h, hostRoot)
			b := f.rootBundle(t, h, o, privileged)
			st, err := f.rt.Create(ctx, h, b)
			if err != nil {
				t.Fatal(err)
			}
			if hostMountinfoHas(t, o.mnt) {
				t.Errorf("the rootfs is mounted on the host at %s", o.mnt)
			}
			root := "/proc/" + strconv.Itoa(st.Pid) + "/root"
			if _, err := os.Stat(root + "/bin/sh"); err != nil {
				t.Errorf("the container's root lacks the lower layer's /bin/sh: %v", err)
			}
			code, out, err := f.exec(t, h, ExecSpec{Args: []string{"/bin/sh", "-c", "echo written >/new && cat /new"}})
			if err != nil || code != 0 || strings.TrimSpace(out) != "written" {
				t.Fatalf("write in the container: %d %q %v", code, out, err)
			}
			if data, err := os.ReadFile(filepath.Join(o.upper, "new")); err != nil || string(data) != "written\n" {
				t.Errorf("upper layer: %q, %v; want the container's write", data, err)
			}
			if _, err := os.Stat(filepath.Join(o.mnt, "new")); err == nil {
				t.Errorf("the write shows at root.path on the host")
			}
			if _, err := f.rt.Delete(ctx, h); err != nil {
				t.Fatal(err)
			}
			f.assertGone(t, h)
			if where := mountedAnywhere(t, "upperdir="+o.upper); len(where) > 0 {
				t.Errorf("the overlay outlived the container in %v", where)
			}
		})
	}
}

// TestBadRootMountLeavesNothing: an option the file system refuses is
// the spec's fault, named, and leaves neither state nor cgroup.
func TestBadRootMountLeavesNothing(t *testing.T) {
	f := newFixture(t)
	h := "rt-rootmount-bad"
	o := newOverlayRoot(t, f, h, containerRootUID(t))
	b := f.rootBundle(t, h, o, false, "no_such_option=1")
	_, err := f.rt.Create(context.Background(), h, b)
	if errkind.Of(err) != errkind.InvalidSpec || !strings.Contains(err.Error(), "no_such_option") {
		t.Fatalf("create: %v; want InvalidSpec naming the option", err)
	}
	f.assertGone(t, h)
	if where := mountedAnywhere(t, "upperdir="+o.upper); len(where) > 0 {
		t.Errorf("overlay left in %v", where)
	}
}

func TestTakeRootMount(t *testing.T) {
	other := specs.Mount{Destination: "/proc", Type: "proc"}
	root := specs.Mount{Destination: "/", Type: "overlay"}
	spec := &specs.Spec{Mounts: []specs.Mount{root, other}}
	m, err := takeRootMount(spec)
	if err != nil || m == nil || m.Type != "overlay" || len(spec.Mounts) != 1 || spec.Mounts[0].Destination != "/proc" {
		t.Errorf("takeRootMount: %+v, %v, left %+v", m, err, spec.Mounts)
	}
	spec = &specs.Spec{Mounts: []specs.Mount{other}}
	if m, err := takeRootMount(spec); m != nil || err != nil || len(spec.Mounts) != 1 {
		t.Errorf("no root mount: %+v, %v", m, err)
	}
	spec = &specs.Spec{Mounts: []specs.Mount{other, root}}
	if _, err := takeRootMount(spec); errkind.Of(err) != errkind.InvalidSpec {
		t.Errorf("root mount not first: %v, want InvalidSpec", err)
	}
	if _, err := openRootMount(&specs.Mount{Destination: "/", Type: "bind", Source: "/tmp"}, "/nonexistent"); errkind.Of(err) != errkind.InvalidSpec {
		t.Errorf("bind on /: %v, want InvalidSpec", err)
	}
}

// TestRootMountOfManyLayers: a lowerdir longer than fsconfig takes in
// one parameter (an image of many layers) is given layer by layer, or on
// a kernel without that, mounted with mount(2) and cloned.
func TestRootMountOfManyLayers(t *testing.T) {
	for _, plus := range []bool{true, false} {
		t.Run("lowerdir+="+strconv.FormatBool(plus), func(t *testing.T) {
			saved := lowerdirPlus
			lowerdirPlus = plus
			defer func() { lowerdirPlus = saved }()
			rootMountOfManyLayers(t, "rt-rootmount-layers-"+strconv.FormatBool(plus))
		})
	}
}

func rootMountOfManyLayers(t *testing.T, h string) {
	f := newFixture(t)
	o := newOverlayRoot(t, f, h, containerRootUID(t))
	var lowers []string
	for i := range 6 {
		d := filepath.Join(f.dir, "layers", strings.Repeat("l", 60)+strconv.Itoa(i))
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		lowers = append(lowers, d)
	}
	if err := os.WriteFile(filepath.Join(lowers[0], "top"), []byte("top layer\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	lowers = append(lowers, f.rootfs)
	lowerdir := "lowerdir=" + strings.Join(lowers, ":")
	if len(lowerdir) <= maxParam {
		t.Fatalf("lowerdir of %d bytes: the test wants one longer than %d", len(lowerdir), maxParam)
	}
	m := specs.Mount{Destination: "/", Type: "overlay", Source: "overlay", Options: []string{lowerdir, "upperdir=" + o.upper, "workdir=" + o.work}}
	g := *f
	g.rootfs = o.mnt
	b := g.bundle(t, h, bundle.Desired{ImageMounts: []specs.Mount{m}}, f.init)
	if _, err := f.rt.Create(context.Background(), h, b); err != nil {
		t.Fatal(err)
	}
	code, out, err := f.exec(t, h, ExecSpec{Args: []string{"/bin/cat", "/top"}})
	if err != nil || code != 0 || out != "top layer" {
		t.Errorf("the top layer's file: %d %q %v", code, out, err)
	}
	if hostMountinfoHas(t, o.mnt) {
		t.Errorf("the rootfs is mounted on the host at %s", o.mnt)
	}
}
