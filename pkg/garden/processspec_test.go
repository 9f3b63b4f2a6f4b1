package garden

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/gdn-dev/gdn/pkg/errkind"
	"github.com/gdn-dev/gdn/pkg/runtime"
)

func ptr(v uint64) *uint64 { return &v }

func TestProcessSpecDecodesEveryKey(t *testing.T) {
	in := `{"id":"p1","path":"/bin/sh","args":["-c","echo hi"],"env":["A=1","B=2"],"dir":"/work","user":"alice",
	"rlimits":{"as":1,"core":0,"cpu":3,"data":4,"fsize":5,"locks":6,"memlock":7,"msgqueue":8,"nice":9,"nofile":10,
	"nproc":11,"rss":12,"rtprio":13,"sigpending":14,"stack":15},
	"limits":{"cpu_limits":{"weight":5,"limit_in_shares":7},"memory_limits":{"limit_in_bytes":1024}},
	"tty":{"window_size":{"columns":132,"rows":43}},"image":{"uri":"/img","username":"u","password":"p"},
	"bind_mounts":[{"src_path":"/a","dst_path":"/b","mode":1,"origin":1}]}`
	var s ProcessSpec
	if err := json.Unmarshal([]byte(in), &s); err != nil {
		t.Fatal(err)
	}
	want := ProcessSpec{
		ID: "p1", Path: "/bin/sh", Args: []string{"-c", "echo hi"}, Env: []string{"A=1", "B=2"}, Dir: "/work", User: "alice",
		Limits: ResourceLimits{
			As: ptr(1), Core: ptr(0), Cpu: ptr(3), Data: ptr(4), Fsize: ptr(5), Locks: ptr(6), Memlock: ptr(7),
			Msgqueue: ptr(8), Nice: ptr(9), Nofile: ptr(10), Nproc: ptr(11), Rss: ptr(12), Rtprio: ptr(13),
			Sigpending: ptr(14), Stack: ptr(15),
		},
		OverrideContainerLimits: &ProcessLimits{CPU: CPULimits{Weight: 5, LimitInShares: 7}, Memory: MemoryLimits{LimitInBytes: 1024}},
		TTY:                     &TTYSpec{WindowSize: &WindowSize{Columns: 132, Rows: 43}},
		Image:                   ImageRef{URI: "/img", Username: "u", Password: "p"},
		BindMounts:              []BindMount{{SrcPath: "/a", DstPath: "/b", Mode: BindMountModeRW, Origin: BindMountOriginContainer}},
	}
	if !reflect.DeepEqual(s, want) {
		t.Errorf("got  %+v\nwant %+v", s, want)
	}
}

func TestProcessSpecMinimalDecode(t *testing.T) {
	var s ProcessSpec
	if err := json.Unmarshal([]byte(`{"path":"ls","rlimits":{}}`), &s); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(s, ProcessSpec{Path: "ls"}) {
		t.Errorf("got %+v, want only Path", s)
	}
}

func TestExecSpec(t *testing.T) {
	cases := []struct {
		name     string
		spec     ProcessSpec
		want     runtime.ExecSpec
		wantKind errkind.Kind
		wantMsg  string // a prefix of the error
	}{
		{
			name: "path only",
			spec: ProcessSpec{Path: "ls"},
			want: runtime.ExecSpec{Args: []string{"ls"}},
		},
		{
			name: "path then args",
			spec: ProcessSpec{Path: "/bin/sh", Args: []string{"-c", "exit 3"}, Env: []string{"A=1"}, User: "1000:1000", Dir: "/tmp"},
			want: runtime.ExecSpec{Args: []string{"/bin/sh", "-c", "exit 3"}, Env: []string{"A=1"}, User: "1000:1000", Dir: "/tmp"},
		},
		{
			name: "rlimits by name, zero included",
			spec: ProcessSpec{Path: "ls", Limits: ResourceLimits{Nofile: ptr(100), Core: ptr(0), Sigpending: ptr(7)}},
			want: runtime.ExecSpec{Args: []string{"ls"}, Rlimits: map[string]uint64{"nofile": 100, "core": 0, "sigpending": 7}},
		},
		{
			name: "tty without a size",
			spec: ProcessSpec{Path: "sh", TTY: &TTYSpec{}},
			want: runtime.ExecSpec{Args: []string{"sh"}, TTY: &runtime.WindowSize{}},
		},
		{
			name: "tty with a size",
			spec: ProcessSpec{Path: "sh", TTY: &TTYSpec{WindowSize: &WindowSize{Columns: 132, Rows: 43}}},
			want: runtime.ExecSpec{Args: []string{"sh"}, TTY: &runtime.WindowSize{Columns: 132, Rows: 43}},
		},
		{
			name: "pea",
			spec: ProcessSpec{Path: "ls", Image: ImageRef{URI: "/rootfs"}},
			want: runtime.ExecSpec{Args: []string{"ls"}, Pea: &runtime.PeaSpec{Image: "/rootfs"}},
		},
		{
			name:     "no path",
			spec:     ProcessSpec{Args: []string{"x"}},
			wantKind: errkind.InvalidSpec,
		},
		{
			name:     "bind mounts without an image",
			spec:     ProcessSpec{Path: "ls", BindMounts: []BindMount{{SrcPath: "/a", DstPath: "/b"}}},
			wantKind: errkind.InvalidSpec,
			wantMsg:  "Running a process with bind mounts and no image provided is not allowed",
		},
		{
			name:     "unsupported image",
			spec:     ProcessSpec{Path: "ls", Image: ImageRef{URI: "docker:///busybox"}},
			wantKind: errkind.InvalidSpec,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.spec.ExecSpec()
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
		spec     ProcessSpec
		want     *runtime.PeaSpec
		wantKind errkind.Kind
	}{
		{name: "rootfs path", spec: ProcessSpec{Image: ImageRef{URI: "/x"}}, want: &runtime.PeaSpec{Image: "/x"}},
		{name: "raw URI", spec: ProcessSpec{Image: ImageRef{URI: "raw:///x"}}, want: &runtime.PeaSpec{Image: "/x"}},
		{name: "docker URI", spec: ProcessSpec{Image: ImageRef{URI: "docker:///busybox"}}, wantKind: errkind.InvalidSpec},
		{name: "oci URI", spec: ProcessSpec{Image: ImageRef{URI: "oci:///images/busybox"}}, wantKind: errkind.InvalidSpec},
		{name: "relative path", spec: ProcessSpec{Image: ImageRef{URI: "x"}}, wantKind: errkind.InvalidSpec},
		{
			name: "raw URI with a relative path", spec: ProcessSpec{Image: ImageRef{URI: "raw://x"}}, wantKind: errkind.InvalidSpec,
		},
		{
			name: "bind mounts",
			spec: ProcessSpec{Image: ImageRef{URI: "/x"}, BindMounts: []BindMount{
				{SrcPath: "/ro", DstPath: "/in/ro"},
				{SrcPath: "/rw", DstPath: "/in/rw", Mode: BindMountModeRW},
			}},
			want: &runtime.PeaSpec{Image: "/x", BindMounts: []runtime.BindMount{
				{Source: "/ro", Destination: "/in/ro", ReadOnly: true},
				{Source: "/rw", Destination: "/in/rw", ReadOnly: false},
			}},
		},
		{
			name: "weight wins over limit_in_shares",
			spec: ProcessSpec{Image: ImageRef{URI: "/x"}, OverrideContainerLimits: &ProcessLimits{
				CPU: CPULimits{Weight: 5, LimitInShares: 7}, Memory: MemoryLimits{LimitInBytes: 1 << 20},
			}},
			want: &runtime.PeaSpec{Image: "/x", Limits: &runtime.PeaLimits{CPUShares: 5, MemoryBytes: 1 << 20}},
		},
		{
			name: "limit_in_shares alone",
			spec: ProcessSpec{Image: ImageRef{URI: "/x"}, OverrideContainerLimits: &ProcessLimits{CPU: CPULimits{LimitInShares: 7}}},
			want: &runtime.PeaSpec{Image: "/x", Limits: &runtime.PeaLimits{CPUShares: 7}},
		},
		{
			name: "empty override",
			spec: ProcessSpec{Image: ImageRef{URI: "/x"}, OverrideContainerLimits: &ProcessLimits{}},
			want: &runtime.PeaSpec{Image: "/x", Limits: &runtime.PeaLimits{}},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.spec.PeaSpec()
			if errkind.Of(err) != tc.wantKind {
				t.Fatalf("PeaSpec = %+v, %v; want kind %q", got, err, tc.wantKind)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}
