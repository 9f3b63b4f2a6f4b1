package translate

import (
	"reflect"
	"strings"
	"testing"

	"github.com/gdn-dev/gdn/pkg/bundle"
	"github.com/gdn-dev/gdn/pkg/errkind"
	"github.com/gdn-dev/gdn/pkg/garden"
	"github.com/gdn-dev/gdn/pkg/runtime"
)

func ptr(v uint64) *uint64 { return &v }

func TestDesired(t *testing.T) {
	cases := []struct {
		name      string
		spec      garden.ContainerSpec
		want      bundle.Desired
		wantProps map[string]string
		wantKind  errkind.Kind
	}{
		{
			name: "full",
			spec: garden.ContainerSpec{
				Handle: "c1", Env: []string{"A=1"}, Privileged: true, Properties: map[string]string{"k": "v"},
				BindMounts: []garden.BindMount{{SrcPath: "/a", DstPath: "/b"}, {SrcPath: "/c", DstPath: "/d", Mode: garden.BindMountModeRW}},
				Limits:     garden.Limits{Memory: garden.MemoryLimits{LimitInBytes: 1 << 20}, CPU: garden.CPULimits{Weight: 3, LimitInShares: 4}, Pid: garden.PidLimits{Max: 10}},
			},
			want: bundle.Desired{
				Handle: "c1", Env: []string{"A=1"}, Privileged: true,
				BindMounts: []bundle.BindMount{{Source: "/a", Destination: "/b", ReadOnly: true}, {Source: "/c", Destination: "/d"}},
				Limits:     bundle.Limits{MemoryBytes: 1 << 20, CPUShares: 3, PidsMax: 10},
			},
			wantProps: map[string]string{"k": "v"},
		},
		{
			name: "shares when no weight",
			spec: garden.ContainerSpec{Limits: garden.Limits{CPU: garden.CPULimits{LimitInShares: 4}}},
			want: bundle.Desired{Limits: bundle.Limits{CPUShares: 4}},
		},
		{name: "bad mode", spec: garden.ContainerSpec{BindMounts: []garden.BindMount{{Mode: 2}}}, wantKind: errkind.InvalidSpec},
		{name: "bad origin", spec: garden.ContainerSpec{BindMounts: []garden.BindMount{{Origin: 2}}}, wantKind: errkind.InvalidSpec},
		{name: "huge pid limit", spec: garden.ContainerSpec{Limits: garden.Limits{Pid: garden.PidLimits{Max: 1 << 63}}}, wantKind: errkind.InvalidSpec},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d, props, err := Desired(tc.spec)
			if errkind.Of(err) != tc.wantKind || (err == nil) != (tc.wantKind == "") {
				t.Fatalf("got %v, want kind %q", err, tc.wantKind)
			}
			if err != nil {
				return
			}
			if !reflect.DeepEqual(d, tc.want) || !reflect.DeepEqual(props, tc.wantProps) {
				t.Errorf("got %+v %v\nwant %+v %v", d, props, tc.want, tc.wantProps)
			}
		})
	}
}

func TestExecSpec(t *testing.T) {
	cases := []struct {
		name     string
		spec     garden.ProcessSpec
		want     runtime.ExecSpec
		wantKind errkind.Kind
		wantMsg  string // a prefix of the error
	}{
		{
			name: "path only",
			spec: garden.ProcessSpec{Path: "ls"},
			want: runtime.ExecSpec{Args: []string{"ls"}},
		},
		{
			name: "path then args",
			spec: garden.ProcessSpec{Path: "/bin/sh", Args: []string{"-c", "exit 3"}, Env: []string{"A=1"}, User: "1000:1000", Dir: "/tmp"},
			want: runtime.ExecSpec{Args: []string{"/bin/sh", "-c", "exit 3"}, Env: []string{"A=1"}, User: "1000:1000", Dir: "/tmp"},
		},
		{
			name: "rlimits by name, zero included",
			spec: garden.ProcessSpec{Path: "ls", Limits: garden.ResourceLimits{Nofile: ptr(100), Core: ptr(0), Sigpending: ptr(7)}},
			want: runtime.ExecSpec{Args: []string{"ls"}, Rlimits: map[string]uint64{"nofile": 100, "core": 0, "sigpending": 7}},
		},
		{
			name: "tty without a size",
			spec: garden.ProcessSpec{Path: "sh", TTY: &garden.TTYSpec{}},
			want: runtime.ExecSpec{Args: []string{"sh"}, TTY: &runtime.WindowSize{}},
		},
		{
			name: "tty with a size",
			spec: garden.ProcessSpec{Path: "sh", TTY: &garden.TTYSpec{WindowSize: &garden.WindowSize{Columns: 132, Rows: 43}}},
			want: runtime.ExecSpec{Args: []string{"sh"}, TTY: &runtime.WindowSize{Columns: 132, Rows: 43}},
		},
		{
			name: "pea",
			spec: garden.ProcessSpec{Path: "ls", Image: garden.ImageRef{URI: "/rootfs"}},
			want: runtime.ExecSpec{Args: []string{"ls"}, Pea: &runtime.PeaSpec{Image: "/rootfs"}},
		},
		{
			name:     "no path",
			spec:     garden.ProcessSpec{Args: []string{"x"}},
			wantKind: errkind.InvalidSpec,
		},
		{
			name:     "bind mounts without an image",
			spec:     garden.ProcessSpec{Path: "ls", BindMounts: []garden.BindMount{{SrcPath: "/a", DstPath: "/b"}}},
			wantKind: errkind.InvalidSpec,
			wantMsg:  "Running a process with bind mounts and no image provided is not allowed",
		},
		{
			name:     "unsupported image",
			spec:     garden.ProcessSpec{Path: "ls", Image: garden.ImageRef{URI: "docker:///busybox"}},
			wantKind: errkind.InvalidSpec,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ExecSpec(tc.spec)
			if tc.wantKind != "" {
				if errkind.Of(err) != tc.wantKind {
					t.Fatalf("ExecSpec = %+v, %v; want %s", got, err, tc.wantKind)
				}
				if !strings.HasPrefix(err.Error(), tc.wantMsg) {
					t.Errorf("error %q does not start with %q", err, tc.wantMsg)
				}
				return
			}
			if err != nil {
				t.Fatalf("ExecSpec = %v", err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestPeaSpec(t *testing.T) {
	cases := []struct {
		name     string
		spec     garden.ProcessSpec
		want     *runtime.PeaSpec
		wantKind errkind.Kind
	}{
		{name: "rootfs path", spec: garden.ProcessSpec{Image: garden.ImageRef{URI: "/x"}}, want: &runtime.PeaSpec{Image: "/x"}},
		{name: "raw URI", spec: garden.ProcessSpec{Image: garden.ImageRef{URI: "raw:///x"}}, want: &runtime.PeaSpec{Image: "/x"}},
		{name: "docker URI", spec: garden.ProcessSpec{Image: garden.ImageRef{URI: "docker:///busybox"}}, wantKind: errkind.InvalidSpec},
		{name: "oci URI", spec: garden.ProcessSpec{Image: garden.ImageRef{URI: "oci:///images/busybox"}}, wantKind: errkind.InvalidSpec},
		{name: "relative path", spec: garden.ProcessSpec{Image: garden.ImageRef{URI: "x"}}, wantKind: errkind.InvalidSpec},
		{
			name: "raw URI with a relative path", spec: garden.ProcessSpec{Image: garden.ImageRef{URI: "raw://x"}}, wantKind: errkind.InvalidSpec,
		},
		{
			name: "bind mounts",
			spec: garden.ProcessSpec{Image: garden.ImageRef{URI: "/x"}, BindMounts: []garden.BindMount{
				{SrcPath: "/ro", DstPath: "/in/ro"},
				{SrcPath: "/rw", DstPath: "/in/rw", Mode: garden.BindMountModeRW},
			}},
			want: &runtime.PeaSpec{Image: "/x", BindMounts: []runtime.BindMount{
				{Source: "/ro", Destination: "/in/ro", ReadOnly: true},
				{Source: "/rw", Destination: "/in/rw", ReadOnly: false},
			}},
		},
		{
			name: "weight wins over limit_in_shares",
			spec: garden.ProcessSpec{Image: garden.ImageRef{URI: "/x"}, OverrideContainerLimits: &garden.ProcessLimits{
				CPU: garden.CPULimits{Weight: 5, LimitInShares: 7}, Memory: garden.MemoryLimits{LimitInBytes: 1 << 20},
			}},
			want: &runtime.PeaSpec{Image: "/x", Limits: &runtime.PeaLimits{CPUShares: 5, MemoryBytes: 1 << 20}},
		},
		{
			name: "limit_in_shares alone",
			spec: garden.ProcessSpec{Image: garden.ImageRef{URI: "/x"}, OverrideContainerLimits: &garden.ProcessLimits{CPU: garden.CPULimits{LimitInShares: 7}}},
			want: &runtime.PeaSpec{Image: "/x", Limits: &runtime.PeaLimits{CPUShares: 7}},
		},
		{
			name: "empty override",
			spec: garden.ProcessSpec{Image: garden.ImageRef{URI: "/x"}, OverrideContainerLimits: &garden.ProcessLimits{}},
			want: &runtime.PeaSpec{Image: "/x", Limits: &runtime.PeaLimits{}},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := PeaSpec(tc.spec)
			if errkind.Of(err) != tc.wantKind {
				t.Fatalf("PeaSpec = %+v, %v; want kind %q", got, err, tc.wantKind)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}
