package bundle

import (
	"slices"
	"testing"

	"github.com/gdn-dev/gdn/pkg/errkind"
	"github.com/gdn-dev/gdn/pkg/idmap"
	"github.com/opencontainers/runtime-spec/specs-go"
)

func destinations(ms []specs.Mount) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.Destination)
	}
	return out
}

func TestMounts(t *testing.T) {
	// Every case starts from a spec holding one mount, /existing.
	kernel := []string{"/existing", "/proc", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue", "/sys"}
	image := []specs.Mount{{Destination: "/var/vcap", Type: "bind", Source: "/x"}}
	cases := []struct {
		name       string
		rule       Mounts
		privileged bool
		image      []specs.Mount
		want       []string
		wantKind   errkind.Kind
	}{
		{name: "unprivileged v1 gets cgroup", rule: Mounts{CgroupV1: true}, want: append(kernel, "/sys/fs/cgroup")},
		{name: "unprivileged v2", rule: Mounts{}, want: kernel},
		{name: "privileged v1", rule: Mounts{CgroupV1: true}, privileged: true, want: kernel},
		{name: "image mounts come first", rule: Mounts{}, image: image, want: append([]string{"/var/vcap"}, kernel...)},
		{name: "relative image mount", rule: Mounts{}, image: []specs.Mount{{Destination: "etc"}}, wantKind: errkind.InvalidSpec},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			spec := specs.Spec{Mounts: []specs.Mount{{Destination: "/existing"}}}
			err := tc.rule.Apply(&spec, Desired{Privileged: tc.privileged, ImageMounts: tc.image})
			if errkind.Of(err) != tc.wantKind {
				t.Fatalf("got %v, want %q", err, tc.wantKind)
			}
			if err != nil {
				return
			}
			if got := destinations(spec.Mounts); !slices.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestDevptsGID(t *testing.T) {
	cases := []struct {
		name       string
		gids       []idmap.Mapping
		privileged bool
		want       bool
	}{
		{name: "privileged", privileged: true, want: true},
		{name: "maximus mapping maps gid 5", gids: idmap.Mappings(4294967294), want: true},
		{name: "root only", gids: idmap.Mappings(0), want: false},
		{name: "small range", gids: []idmap.Mapping{{ContainerID: 0, HostID: 1000, Size: 1}, {ContainerID: 1, HostID: 100000, Size: 4}}, want: false},
		{name: "range ending at 5", gids: []idmap.Mapping{{ContainerID: 0, HostID: 1000, Size: 1}, {ContainerID: 1, HostID: 100000, Size: 5}}, want: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := slices.Contains(Mounts{GIDMappings: tc.gids}.devptsOptions(tc.privileged), "gid=5")
			if got != tc.want {
				t.Errorf("gid=5 present = %v, want %v", got, tc.want)
			}
		})
	}
}
