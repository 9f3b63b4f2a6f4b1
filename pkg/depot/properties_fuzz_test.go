package depot

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gdn-dev/gdn/pkg/errkind"
	"github.com/gdn-dev/gdn/pkg/handle"
)

// FuzzCreateAndProperties: Create with any handle and initial property
// either refuses (InvalidHandle, InvalidSpec) or makes exactly one new
// directory, directly inside the depot, named by the handle; a property
// that is accepted, at create or by SetProperty, reads back unchanged,
// and RemoveProperty removes it. Keys reach the depot unchecked from a URL
// path segment (any bytes) and values from JSON or a command line.
func FuzzCreateAndProperties(f *testing.F) {
	for _, s := range [][3]string{
		{"c1", "k", "v"},
		{"c1", "garden.network.mapped-ports", `[{"HostPort":1,"ContainerPort":2}]`},
		{"c1", "", "v"},
		{"c1", "k", ""},
		{"c1", "k\x00", "v\n\"\\"},
		{"c1", "é", "\u2028"},
		{"..", "k", "v"},
		{"-x", "k", "v"},
		{"a/b", "k", "v"},
		{strings.Repeat("h", handle.MaxLen), "k", "v"},
	} {
		f.Add(s[0], s[1], s[2])
	}
	// On tmpfs when the host has one: Create and every property update
	// sync to disk, which on a journalled /tmp dominates the run.
	parent, err := os.MkdirTemp("/dev/shm", "gdn-fuzz-")
	if err != nil {
		parent = f.TempDir()
	} else {
		f.Cleanup(func() { os.RemoveAll(parent) })
	}
	d, err := New(Config{Dir: filepath.Join(parent, "depot")})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, h, key, value string) {
		_, err := d.Create(context.Background(), h, testSpec("/rootfs"), map[string]string{key: value})
		if err != nil {
			if k := errkind.Of(err); k != errkind.InvalidHandle && k != errkind.InvalidSpec {
				t.Fatalf("Create(%q, {%q: %q}) = %v, want InvalidHandle or InvalidSpec", h, key, value, err)
			}
			if es := entries(t, d); len(es) != 0 {
				t.Fatalf("refused Create(%q) left %v", h, es)
			}
			if handle.Validate(h) != nil {
				return
			}
			// The handle was fine, so the property was refused: Set
			// must refuse it too, on a container that exists.
			h = "c"
			if _, err := d.Create(context.Background(), h, testSpec("/rootfs"), nil); err != nil {
				t.Fatal(err)
			}
			defer d.Destroy(h)
			if err := d.SetProperty(h, key, value); errkind.Of(err) != errkind.InvalidSpec {
				t.Fatalf("Create refused {%q: %q} but SetProperty = %v", key, value, err)
			}
			return
		}
		defer d.Destroy(h)
		if es := entries(t, d); len(es) != 1 || es[0] != h {
			t.Fatalf("Create(%q) made %v in the depot, want just the handle", h, es)
		}
		if fi, err := os.Lstat(filepath.Join(parent, "depot", h)); err != nil || !fi.IsDir() {
			t.Fatalf("Create(%q): no directory of that name: %v", h, err)
		}
		if got, err := d.GetProperty(h, key); err != nil || got != value {
			t.Fatalf("property %q set at create = %q, %v; want %q", key, got, err, value)
		}
		if err := d.RemoveProperty(h, key); err != nil {
			t.Fatal(err)
		}
		if _, err := d.GetProperty(h, key); errkind.Of(err) != errkind.PropertyNotFound {
			t.Fatalf("removed property %q: %v", key, err)
		}
		if err := d.SetProperty(h, key, value); err != nil {
			t.Fatalf("SetProperty(%q, %q) = %v after Create accepted it", key, value, err)
		}
		all, err := d.Properties(h)
		if err != nil || len(all) != 1 || all[key] != value {
			t.Fatalf("properties after set %q=%q: %q, %v", key, value, all, err)
		}
	})
}
