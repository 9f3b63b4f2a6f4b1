package gardener

import (
	"regexp"
	"testing"

	"github.com/gdn-dev/gdn/pkg/garden"
)

func TestImageURIs(t *testing.T) {
	g := New(Config{DefaultRootfs: "/var/lib/gdn/rootfs"})
	cases := []struct {
		spec    garden.ContainerSpec
		uri     string
		rawPath bool
	}{
		{garden.ContainerSpec{}, "/var/lib/gdn/rootfs", false},
		{garden.ContainerSpec{Image: garden.ImageRef{URI: "docker:///busybox#1.36"}}, "docker:///busybox:1.36", false},
		{garden.ContainerSpec{Image: garden.ImageRef{URI: "docker://127.0.0.1:5000/app#v2"}}, "docker://127.0.0.1:5000/app:v2", false},
		{garden.ContainerSpec{Image: garden.ImageRef{URI: "docker:///busybox"}}, "docker:///busybox", false},
		{garden.ContainerSpec{RootFSPath: "/srv/rootfs"}, "/srv/rootfs", false},
		{garden.ContainerSpec{Image: garden.ImageRef{URI: "raw:///srv/rootfs"}}, "/srv/rootfs", true},
	}
	for _, tc := range cases {
		uri, raw := g.imageURI(tc.spec)
		if uri != tc.uri || raw != tc.rawPath {
			t.Errorf("%+v: got %q raw=%v, want %q raw=%v", tc.spec, uri, raw, tc.uri, tc.rawPath)
		}
	}
}

func TestGeneratedHandlesAreUUIDv4(t *testing.T) {
	re := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	seen := map[string]bool{}
	for range 100 {
		u := newUUID()
		if !re.MatchString(u) || seen[u] {
			t.Fatalf("%q is not a fresh UUID v4", u)
		}
		seen[u] = true
	}
}

func TestLookupRefusesWhatIsNoHandle(t *testing.T) {
	g := New(Config{DepotDir: t.TempDir()})
	for _, h := range []string{"", "..", "a/b", "missing"} {
		if err := g.Lookup(h); err != (garden.ContainerNotFoundError{Handle: h}) {
			t.Errorf("Lookup(%q) = %v", h, err)
		}
	}
}
