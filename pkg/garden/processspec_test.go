package garden

import (
	"encoding/json"
	"reflect"
	"testing"
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
