package rootfs

import (
	"testing"

	"github.com/gdn-dev/gdn/pkg/errkind"
)

func TestParseURI(t *testing.T) {
	cases := []struct {
		uri  string
		want Source
	}{
		{"docker://127.0.0.1:5000/busybox:latest", Source{Kind: Registry, Ref: "docker://127.0.0.1:5000/busybox:latest"}},
		{"docker:///busybox#1.36", Source{Kind: Registry, Ref: "docker://busybox:1.36"}},
		{"docker:///library/busybox", Source{Kind: Registry, Ref: "docker://library/busybox"}},
		{"docker://reg.example:5000/a/b@sha256:0123", Source{Kind: Registry, Ref: "docker://reg.example:5000/a/b@sha256:0123"}},
		{"oci:///var/images/bb:v1", Source{Kind: OCILayout, Path: "/var/images/bb", Ref: "oci:/var/images/bb:v1"}},
		{"oci:///var/images/bb", Source{Kind: OCILayout, Path: "/var/images/bb", Ref: "oci:/var/images/bb"}},
		{"docker-archive:///tmp/bb.tar", Source{Kind: DockerArchive, Path: "/tmp/bb.tar", Ref: "docker-archive:/tmp/bb.tar"}},
		{"/var/lib/gdn/rootfs", Source{Kind: Dir, Path: "/var/lib/gdn/rootfs"}},
		{"/var/lib/gdn/rootfs/", Source{Kind: Dir, Path: "/var/lib/gdn/rootfs"}},
		{"/tmp/rootfs.tar.gz", Source{Kind: Tarball, Path: "/tmp/rootfs.tar.gz"}},
		{"/tmp/rootfs.tar", Source{Kind: Tarball, Path: "/tmp/rootfs.tar"}},
	}
	for _, c := range cases {
		t.Run(c.uri, func(t *testing.T) {
			got, err := ParseURI(c.uri)
			if err != nil || got != c.want {
				t.Errorf("ParseURI(%q) = %+v, %v; want %+v", c.uri, got, err, c.want)
			}
			// gdn-rootfs hands gdn-rootfs-fetch the source as a URI.
			if again, err := ParseURI(got.URI()); err != nil || again != got {
				t.Errorf("ParseURI(%q.URI() = %q) = %+v, %v; want it back", c.uri, got.URI(), again, err)
			}
		})
	}
	for _, bad := range []string{"", "busybox", "relative/path", "http://x/y", "docker://", "docker:///", "oci://relative", "docker:///a:b#c"} {
		if _, err := ParseURI(bad); errkind.Of(err) != errkind.InvalidSpec {
			t.Errorf("ParseURI(%q) = %v, want InvalidSpec", bad, err)
		}
	}
}
