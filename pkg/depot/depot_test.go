package depot

import (
	"bytes"
	"context"
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/gdn-dev/gdn/pkg/errkind"
	"github.com/gdn-dev/gdn/pkg/flock"
	"github.com/gdn-dev/gdn/pkg/testutil"
	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

func newDepot(t *testing.T) *Depot {
	t.Helper()
	d, err := New(Config{Dir: filepath.Join(t.TempDir(), "depot")})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func testSpec(rootfs string) *specs.Spec {
	return &specs.Spec{Version: "1.0.2", Root: &specs.Root{Path: rootfs}}
}

func mustCreate(t *testing.T, d *Depot, h string, props map[string]string) string {
	t.Helper()
	dir, err := d.Create(context.Background(), h, testSpec("/rootfs/"+h), props)
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// entries lists the depot directory, without the trash.
func entries(t *testing.T, d *Depot) []string {
	t.Helper()
	es, err := os.ReadDir(d.Dir())
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		if e.Name() != trashDir {
			names = append(names, e.Name())
		}
	}
	return names
}

func TestNewNeedsADirectory(t *testing.T) {
	if _, err := New(Config{}); err == nil {
		t.Error("want an error for an empty Dir")
	}
}

func TestCreate(t *testing.T) {
	d := newDepot(t)
	dir := mustCreate(t, d, "c1", map[string]string{"k": "v"})
	if dir != filepath.Join(d.Dir(), "c1") || !filepath.IsAbs(dir) {
		t.Errorf("bundle dir %q", dir)
	}
	for name, mode := range map[string]os.FileMode{"": 0o755 | os.ModeDir, ConfigFile: 0o600, PropertiesFile: 0o600} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil || fi.Mode() != mode {
			t.Errorf("%q: mode %v, err %v; want %v", name, fi.Mode(), err, mode)
		}
	}
	var spec specs.Spec
	b, _ := os.ReadFile(filepath.Join(dir, ConfigFile))
	if err := json.Unmarshal(b, &spec); err != nil || spec.Root.Path != "/rootfs/c1" {
		t.Errorf("config.json = %s (%v)", b, err)
	}
	if p, _ := os.ReadFile(filepath.Join(dir, PropertiesFile)); string(p) != `{"k":"v"}` {
		t.Errorf("properties.json = %s", p)
	}
}

func TestCreateDuplicateLeavesTheOriginal(t *testing.T) {
	d := newDepot(t)
	dir := mustCreate(t, d, "c1", map[string]string{"k": "v"})
	before, _ := os.ReadFile(filepath.Join(dir, ConfigFile))
	_, err := d.Create(context.Background(), "c1", testSpec("/other"), map[string]string{"k": "other"})
	if errkind.Of(err) != errkind.HandleInUse {
		t.Fatalf("got %v, want HandleInUse", err)
	}
	after, _ := os.ReadFile(filepath.Join(dir, ConfigFile))
	if !bytes.Equal(before, after) {
		t.Error("config.json changed")
	}
	if v, err := d.GetProperty("c1", "k"); v != "v" || err != nil {
		t.Errorf("property k = %q, %v", v, err)
	}
}

func TestCreateRejectsBadInputAndLeavesNothing(t *testing.T) {
	d := newDepot(t)
	cases := []struct {
		handle string
		spec   *specs.Spec
		props  map[string]string
		want   errkind.Kind
	}{
		{"../escape", testSpec("/r"), nil, errkind.InvalidHandle},
		{"", testSpec("/r"), nil, errkind.InvalidHandle},
		{".trash", testSpec("/r"), nil, errkind.InvalidHandle},
		{"c1", nil, nil, errkind.InvalidSpec},
		{"c1", testSpec("/r"), map[string]string{"": "x"}, errkind.InvalidSpec},
	}
	for _, tc := range cases {
		if _, err := d.Create(context.Background(), tc.handle, tc.spec, tc.props); errkind.Of(err) != tc.want {
			t.Errorf("Create(%q): got %v, want %s", tc.handle, err, tc.want)
		}
	}
	if got := entries(t, d); len(got) != 0 {
		t.Errorf("left behind %v", got)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := d.Create(ctx, "c1", testSpec("/r"), nil); err == nil || len(entries(t, d)) != 0 {
		t.Errorf("cancelled create: %v, entries %v", err, entries(t, d))
	}
}

func TestFailedCreateRemovesItsDirectory(t *testing.T) {
	testutil.RequireRoot(t)
	dir := t.TempDir()
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "size=64k"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = unix.Unmount(dir, unix.MNT_DETACH) })
	d, err := New(Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	// A spec bigger than the file system fails while config.json is written.
	big := testSpec("/r")
	big.Annotations = map[string]string{"filler": strings.Repeat("x", 256<<10)}
	if _, err := d.Create(context.Background(), "c1", big, nil); err == nil {
		t.Fatal("want an error from a full file system")
	}
	if got := entries(t, d); len(got) != 0 {
		t.Errorf("left behind %v", got)
	}
	mustCreate(t, d, "c1", nil) // the handle is free again
}

func TestDestroy(t *testing.T) {
	d := newDepot(t)
	mustCreate(t, d, "c1", nil)
	for i, want := range []bool{true, false} {
		existed, err := d.Destroy("c1")
		if err != nil || existed != want {
			t.Errorf("destroy #%d: existed %v, err %v; want %v", i+1, existed, err, want)
		}
	}
	if _, err := d.Show("c1"); errkind.Of(err) != errkind.ContainerNotFound {
		t.Errorf("show after destroy: %v", err)
	}
	if _, err := d.Destroy("a/b"); errkind.Of(err) != errkind.InvalidHandle {
		t.Errorf("destroy of a bad handle: %v", err)
	}
	// A half-created bundle and a tomb left by a killed destroy both go.
	if err := os.Mkdir(filepath.Join(d.Dir(), "c2"), 0o755); err != nil {
		t.Fatal(err)
	}
	stale := filepath.Join(d.Dir(), trashDir, "c2"+trashSep+"123")
	other := filepath.Join(d.Dir(), trashDir, "c2.x"+trashSep+"123")
	for _, p := range []string{stale, other} {
		if err := os.MkdirAll(filepath.Join(p, "processes"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if existed, err := d.Destroy("c2"); !existed || err != nil {
		t.Errorf("destroy of a half-created bundle: %v %v", existed, err)
	}
	if len(entries(t, d)) != 0 {
		t.Errorf("left behind %v", entries(t, d))
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("stale tomb still there: %v", err)
	}
	if _, err := os.Stat(other); !os.IsNotExist(err) {
		t.Errorf("another handle's stale tomb still there: %v", err)
	}
}

// tomb makes a trash entry as a destroy killed after its rename leaves
// it: a bundle directory with some files and a nested directory.
func tomb(t *testing.T, d *Depot, name string) string {
	t.Helper()
	p := filepath.Join(d.Dir(), trashDir, name)
	for i := range 20 {
		sub := filepath.Join(p, "processes", strconv.Itoa(i))
		if err := os.MkdirAll(sub, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(sub, "exitcode"), []byte("0"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return p
}

func trashEntries(t *testing.T, d *Depot) []string {
	t.Helper()
	es, err := os.ReadDir(filepath.Join(d.Dir(), trashDir))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}

// What a killed destroy leaves in the trash goes at the next Cleanup (a
// server's start) or any handle's destroy, and any number of those may
// run at once over the same entries without an error.
func TestCleanupAndDestroysEmptyTheTrashConcurrently(t *testing.T) {
	d := newDepot(t)
	if n, err := d.Cleanup(); n != 0 || err != nil {
		t.Errorf("cleanup of an empty trash: %d %v", n, err)
	}
	tomb(t, d, "gone"+trashSep+"abc")
	if n, err := d.Cleanup(); n != 1 || err != nil {
		t.Errorf("cleanup: removed %d, %v; want 1", n, err)
	}
	for round := range 5 {
		var handles []string
		for i := range 8 {
			h := "c" + strconv.Itoa(round) + "-" + strconv.Itoa(i)
			mustCreate(t, d, h, nil)
			handles = append(handles, h)
			tomb(t, d, h+trashSep+"stale")
		}
		var wg sync.WaitGroup
		errs := make(chan error, 32)
		for _, h := range handles {
			wg.Go(func() {
				if _, err := d.Destroy(h); err != nil {
					errs <- err
				}
			})
		}
		for range 4 {
			wg.Go(func() {
				if _, err := d.Cleanup(); err != nil {
					errs <- err
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Errorf("round %d: %v", round, err)
		}
		if left := trashEntries(t, d); len(left) != 0 {
			t.Fatalf("round %d: trash holds %v", round, left)
		}
		if left := entries(t, d); len(left) != 0 {
			t.Fatalf("round %d: depot holds %v", round, left)
		}
	}
}

func TestList(t *testing.T) {
	d := newDepot(t)
	mustCreate(t, d, "b", map[string]string{"app": "web", "env": "prod"})
	mustCreate(t, d, "a", map[string]string{"app": "web", "env": "dev"})
	mustCreate(t, d, "c", nil)
	// Not containers: a create in progress, a stray file.
	_ = os.Mkdir(filepath.Join(d.Dir(), "partial"), 0o755)
	_ = os.WriteFile(filepath.Join(d.Dir(), "file"), nil, 0o600)
	cases := []struct {
		filter map[string]string
		want   []string
	}{
		{nil, []string{"a", "b", "c"}},
		{map[string]string{"app": "web"}, []string{"a", "b"}},
		{map[string]string{"app": "web", "env": "prod"}, []string{"b"}},
		{map[string]string{"app": "db"}, []string{}},
		{map[string]string{"env": ""}, []string{}},
	}
	for _, tc := range cases {
		got, err := d.List(tc.filter)
		if err != nil || !slices.Equal(got, tc.want) || got == nil {
			t.Errorf("List(%v) = %#v, %v; want %v", tc.filter, got, err, tc.want)
		}
	}
}

// AllProperties: the properties of exactly the containers List names.
func TestAllProperties(t *testing.T) {
	d := newDepot(t)
	mustCreate(t, d, "b", map[string]string{"app": "web", "env": "prod"})
	mustCreate(t, d, "a", map[string]string{"app": "db"})
	_ = os.Mkdir(filepath.Join(d.Dir(), "partial"), 0o755)
	all, err := d.AllProperties(nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := slices.Sorted(maps.Keys(all)); !slices.Equal(got, []string{"a", "b"}) || all["b"]["env"] != "prod" || all["a"]["app"] != "db" {
		t.Errorf("AllProperties(nil) = %v", all)
	}
	web, err := d.AllProperties(map[string]string{"app": "web"})
	if err != nil || len(web) != 1 || web["b"]["app"] != "web" {
		t.Errorf("AllProperties(app=web) = %v, %v", web, err)
	}
}

// What a create killed before its config.json leaves (a directory with
// no bundle, its lock free) goes at cleanup; a create still running (its
// lock held) and a whole bundle stay.
func TestCleanupRemovesUnfinishedCreatesOnly(t *testing.T) {
	d := newDepot(t)
	mustCreate(t, d, "whole", nil)
	for _, h := range []string{"killed", "running"} {
		if err := os.Mkdir(d.path(h), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	running, err := flock.Acquire(filepath.Join(d.path("running"), lockFile))
	if err != nil {
		t.Fatal(err)
	}
	defer running.Release()
	if _, err := d.Cleanup(); err != nil {
		t.Fatal(err)
	}
	got := entries(t, d)
	if want := []string{"running", "whole"}; !slices.Equal(got, want) {
		t.Fatalf("depot after cleanup: %v, want %v", got, want)
	}
	if trash, _ := os.ReadDir(filepath.Join(d.Dir(), trashDir)); len(trash) != 0 {
		t.Fatalf("trash after cleanup: %v", trash)
	}
}

// The network placeholders belong to container root's host ids, so that
// root in a user namespace can edit /etc/hosts and /etc/resolv.conf;
// without a user namespace they are host root's.
func TestNetworkFilesBelongToContainerRoot(t *testing.T) {
	testutil.RequireRoot(t)
	d := newDepot(t)
	spec := testSpec("/rootfs/u")
	spec.Linux = &specs.Linux{
		UIDMappings: []specs.LinuxIDMapping{{ContainerID: 1, HostID: 1, Size: 1000}, {ContainerID: 0, HostID: 4294967294, Size: 1}},
		GIDMappings: []specs.LinuxIDMapping{{ContainerID: 0, HostID: 4294967290, Size: 1}},
	}
	owned, err := d.Create(context.Background(), "u", spec, nil)
	if err != nil {
		t.Fatal(err)
	}
	plain := mustCreate(t, d, "p", nil)
	for dir, want := range map[string][2]uint32{owned: {4294967294, 4294967290}, plain: {0, 0}} {
		for _, f := range []string{HostsFile, ResolvConfFile} {
			var st unix.Stat_t
			if err := unix.Stat(filepath.Join(dir, f), &st); err != nil {
				t.Fatal(err)
			}
			if st.Uid != want[0] || st.Gid != want[1] || st.Mode&0o777 != 0o644 {
				t.Errorf("%s/%s: owner %d:%d mode %o, want %d:%d 644", filepath.Base(dir), f, st.Uid, st.Gid, st.Mode&0o777, want[0], want[1])
			}
		}
	}
}
