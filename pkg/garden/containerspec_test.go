package garden

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/gdn-dev/gdn/pkg/errkind"
)

func TestZeroContainerSpecMarshalsLikeTheReference(t *testing.T) {
	b, err := json.Marshal(ContainerSpec{})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"image":{},"limits":{"bandwidth_limits":{},"cpu_limits":{},"disk_limits":{},"memory_limits":{},"pid_limits":{}}}`
	if string(b) != want {
		t.Errorf("got  %s\nwant %s", b, want)
	}
}

func TestContainerSpecDecodesEveryKey(t *testing.T) {
	in := `{"handle":"c1","grace_time":5000000000,"rootfs":"/r","image":{"uri":"docker:///busybox","username":"u","password":"p"},
	"bind_mounts":[{"src_path":"/a","dst_path":"/b","mode":1,"origin":0}],"network":"10.0.0.0/30","properties":{"k":"v"},
	"env":["A=1"],"privileged":true,"limits":{"bandwidth_limits":{"rate":1,"burst":2},"cpu_limits":{"weight":3,"limit_in_shares":4},
	"disk_limits":{"inode_soft":5,"inode_hard":6,"byte_soft":7,"byte_hard":8,"scope":1},"memory_limits":{"limit_in_bytes":9},"pid_limits":{"max":10}},
	"netout_rules":[{"protocol":1}],"netin":[{"host_port":80,"container_port":8080}]}`
	var s ContainerSpec
	if err := json.Unmarshal([]byte(in), &s); err != nil {
		t.Fatal(err)
	}
	want := ContainerSpec{
		Handle: "c1", GraceTime: 5 * time.Second, RootFSPath: "/r",
		Image:      ImageRef{URI: "docker:///busybox", Username: "u", Password: "p"},
		BindMounts: []BindMount{{SrcPath: "/a", DstPath: "/b", Mode: BindMountModeRW}},
		Network:    "10.0.0.0/30", Properties: map[string]string{"k": "v"}, Env: []string{"A=1"}, Privileged: true,
		Limits: Limits{
			Bandwidth: BandwidthLimits{RateInBytesPerSecond: 1, BurstRateInBytesPerSecond: 2},
			CPU:       CPULimits{Weight: 3, LimitInShares: 4},
			Disk:      DiskLimits{InodeSoft: 5, InodeHard: 6, ByteSoft: 7, ByteHard: 8, Scope: DiskLimitScopeExclusive},
			Memory:    MemoryLimits{LimitInBytes: 9},
			Pid:       PidLimits{Max: 10},
		},
		NetOut: json.RawMessage(`[{"protocol":1}]`),
		NetIn:  []NetIn{{HostPort: 80, ContainerPort: 8080}},
	}
	if !reflect.DeepEqual(s, want) {
		t.Errorf("got  %+v\nwant %+v", s, want)
	}
}

func TestParseBindMount(t *testing.T) {
	cases := []struct {
		in       string
		want     BindMount
		wantKind errkind.Kind
	}{
		{in: "/a:/b", want: BindMount{SrcPath: "/a", DstPath: "/b"}},
		{in: "/a:/b:ro", want: BindMount{SrcPath: "/a", DstPath: "/b"}},
		{in: "/a:/b:rw", want: BindMount{SrcPath: "/a", DstPath: "/b", Mode: BindMountModeRW}},
		{in: "/a", wantKind: errkind.InvalidSpec},
		{in: ":/b", wantKind: errkind.InvalidSpec},
		{in: "/a:/b:rx", wantKind: errkind.InvalidSpec},
		{in: "/a:/b:ro:x", wantKind: errkind.InvalidSpec},
	}
	for _, tc := range cases {
		got, err := ParseBindMount(tc.in)
		if errkind.Of(err) != tc.wantKind || got != tc.want {
			t.Errorf("ParseBindMount(%q) = %+v, %v; want %+v, kind %q", tc.in, got, err, tc.want, tc.wantKind)
		}
	}
}
