package translate

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/gdn-dev/gdn/pkg/bundle"
	"github.com/gdn-dev/gdn/pkg/errkind"
	"github.com/gdn-dev/gdn/pkg/garden"
	"github.com/gdn-dev/gdn/pkg/idmap"
)

// roundTrip checks that encoding a decoded value is stable: encoding,
// decoding and encoding again gives the same bytes. It returns the first
// encoding.
func roundTrip[T any](t *testing.T, v T) []byte {
	t.Helper()
	b1, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("encode %+v: %v", v, err)
	}
	var again T
	if err := json.Unmarshal(b1, &again); err != nil {
		t.Fatalf("decode own encoding %s: %v", b1, err)
	}
	b2, err := json.Marshal(again)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b1, b2) {
		t.Fatalf("round trip not stable:\n%s\n%s", b1, b2)
	}
	return b1
}

// bundleConfig is a host configuration for bundle.DefaultRules that
// needs no probing: a real rootfs directory and init file, fixed
// capabilities, and no statfs.
func bundleConfig(f *testing.F) (bundle.Config, string) {
	dir := f.TempDir()
	rootfs := filepath.Join(dir, "rootfs")
	initBin := filepath.Join(dir, "gdn-init")
	if err := os.Mkdir(rootfs, 0o755); err != nil {
		f.Fatal(err)
	}
	if err := os.WriteFile(initBin, []byte("init"), 0o755); err != nil {
		f.Fatal(err)
	}
	maps := idmap.Mappings(4294967294)
	return bundle.Config{
		InitPath: initBin, UIDMappings: maps, GIDMappings: maps,
		HostCapabilities: []string{"CAP_CHOWN", "CAP_KILL", "CAP_SYS_ADMIN"},
		MountFlags:       func(string) ([]string, error) { return nil, nil },
	}, rootfs
}

// FuzzContainerSpec: any POST /containers body either fails to decode or
// decodes to a spec whose encoding round-trips; translating it either
// fails with InvalidSpec, exactly for the API's out-of-range values, or
// gives a bundle request that mirrors the spec and that gdn-depot's
// bundle rules either refuse (InvalidSpec, InvalidHandle) or turn into a
// spec.
func FuzzContainerSpec(f *testing.F) {
	for _, s := range []string{
		`{"handle":"h1","grace_time":300000000000,"image":{"uri":"docker:///busybox#latest","username":"u","password":"p"},"bind_mounts":[{"src_path":"/tmp","dst_path":"/dst","mode":1,"origin":1}],"network":"10.254.0.8/30","properties":{"k":"v"},"env":["A=B"],"privileged":true,"limits":{"bandwidth_limits":{"rate":1,"burst":2},"cpu_limits":{"weight":3,"limit_in_shares":4},"disk_limits":{"inode_soft":5,"inode_hard":6,"byte_soft":7,"byte_hard":8,"scope":1},"memory_limits":{"limit_in_bytes":9},"pid_limits":{"max":10}},"netout_rules":[{"protocol":3,"networks":[{"start":"10.0.0.1","end":"10.0.0.9"}],"ports":[{"start":80,"end":81}],"icmps":{"type":8,"code":0},"log":true}],"netin":[{"host_port":0,"container_port":8080}]}`,
		`{}`,
		`{"handle":"","image":{},"limits":{}}`,
		`{"bind_mounts":[{"src_path":"/tmp","dst_path":"/tmp/garden-init"}]}`,
		`{"bind_mounts":[{"src_path":"relative","dst_path":"/x"}]}`,
		`{"bind_mounts":[{"src_path":"/","dst_path":"/a/../b"}]}`,
		`{"bind_mounts":[{"mode":2}]}`,
		`{"bind_mounts":[{"origin":2}]}`,
		`{"env":["NOEQUALS","=empty-name","A="]}`,
		`{"limits":{"cpu_limits":{"limit_in_shares":1}}}`,
		`{"limits":{"pid_limits":{"max":9223372036854775808}}}`,
		`{"limits":{"memory_limits":{"limit_in_bytes":18446744073709551615}}}`,
		`{"properties":{"":"empty key"},"netout_rules":null}`,
		`{"grace_time":-1,"netout_rules":{"not":"a list"}}`,
		`{"handle":"../../etc"}`,
	} {
		f.Add([]byte(s))
	}
	cfg, rootfs := bundleConfig(f)
	rules := bundle.DefaultRules(cfg)
	f.Fuzz(func(t *testing.T, body []byte) {
		var s garden.ContainerSpec
		if json.Unmarshal(body, &s) != nil {
			return
		}
		roundTrip(t, s)
		d, props, err := Desired(s)
		outOfRange := s.Limits.Pid.Max > math.MaxInt64 || slices.ContainsFunc(s.BindMounts, func(bm garden.BindMount) bool {
			return bm.Mode > garden.BindMountModeRW || bm.Origin > garden.BindMountOriginContainer
		})
		if err != nil {
			if errkind.Of(err) != errkind.InvalidSpec || !outOfRange {
				t.Fatalf("Desired(%s) = %v, want InvalidSpec only for out-of-range values", body, err)
			}
			return
		}
		if outOfRange {
			t.Fatalf("Desired(%s) accepted an out-of-range value", body)
		}
		if d.Handle != s.Handle || d.Privileged != s.Privileged || !slices.Equal(d.Env, s.Env) || !reflect.DeepEqual(props, s.Properties) {
			t.Fatalf("Desired(%s) = %+v, %v: does not mirror the spec", body, d, props)
		}
		if len(d.BindMounts) != len(s.BindMounts) {
			t.Fatalf("Desired(%s): %d bind mounts, want %d", body, len(d.BindMounts), len(s.BindMounts))
		}
		for i, bm := range s.BindMounts {
			want := bundle.BindMount{Source: bm.SrcPath, Destination: bm.DstPath, ReadOnly: bm.Mode == garden.BindMountModeRO}
			if d.BindMounts[i] != want {
				t.Fatalf("bind mount %+v became %+v", bm, d.BindMounts[i])
			}
		}
		shares := s.Limits.CPU.Weight
		if shares == 0 {
			shares = s.Limits.CPU.LimitInShares
		}
		if want := (bundle.Limits{MemoryBytes: s.Limits.Memory.LimitInBytes, CPUShares: shares, PidsMax: int64(s.Limits.Pid.Max)}); d.Limits != want {
			t.Fatalf("limits %+v became %+v, want %+v", s.Limits, d.Limits, want)
		}

		// What gdn-depot does next: the bundle rules.
		if d.Handle == "" {
			d.Handle = "server-chosen"
		}
		d.Rootfs = rootfs
		spec, err := bundle.Generate(d, rules)
		if err != nil {
			if k := errkind.Of(err); k != errkind.InvalidSpec && k != errkind.InvalidHandle {
				t.Fatalf("bundle rules on %s: %v, want InvalidSpec or InvalidHandle", body, err)
			}
			return
		}
		for _, m := range spec.Mounts {
			if !filepath.IsAbs(m.Destination) {
				t.Fatalf("bundle of %s mounts at relative %q", body, m.Destination)
			}
		}
		for _, bm := range d.BindMounts {
			if bm.Destination == "/" || bm.Destination == bundle.InitMountPath || filepath.Clean(bm.Destination) != bm.Destination {
				t.Fatalf("bundle of %s accepted bind mount destination %q", body, bm.Destination)
			}
		}
		for _, e := range spec.Process.Env {
			if name, _, ok := strings.Cut(e, "="); !ok || name == "" {
				t.Fatalf("bundle of %s has env entry %q", body, e)
			}
		}
		if r := spec.Linux.Resources; r != nil && r.Pids != nil && r.Pids.Limit != nil && *r.Pids.Limit < 0 || r != nil && r.Memory != nil && *r.Memory.Limit < 0 {
			t.Fatalf("bundle of %s has a negative limit: %+v", body, r)
		}
		if _, err := json.Marshal(spec); err != nil {
			t.Fatalf("bundle of %s does not encode: %v", body, err)
		}
	})
}

// rlimitNames are the keys rlimits may produce.
var rlimitNames = []string{"as", "core", "cpu", "data", "fsize", "locks", "memlock", "msgqueue", "nice", "nofile", "nproc", "rss", "rtprio", "sigpending", "stack"}

// FuzzProcessSpec: any POST .../processes body either fails to decode or
// decodes to a spec whose encoding round-trips; ExecSpec either fails
// with InvalidSpec or gives gdn-run a request that mirrors the spec, that
// itself round-trips, and whose pea part holds only values the runtime
// can apply as asked (an absolute image, known bind mount modes, limits
// a cgroup takes).
func FuzzProcessSpec(f *testing.F) {
	for _, s := range []string{
		`{"id":"p1","path":"/bin/sh","args":["-c","echo hi"],"env":["A=B"],"dir":"/tmp","user":"vcap","rlimits":{"as":1,"core":2,"cpu":3,"data":4,"fsize":5,"locks":6,"memlock":7,"msgqueue":8,"nice":9,"nofile":10,"nproc":11,"rss":12,"rtprio":13,"sigpending":14,"stack":15},"tty":{"window_size":{"columns":80,"rows":24}},"image":{}}`,
		`{"path":"ls","tty":{}}`,
		`{"path":""}`,
		`{}`,
		`{"path":"ls","bind_mounts":[{"src_path":"/a","dst_path":"/b"}]}`,
		`{"path":"ls","image":{"uri":"raw:///rootfs"},"bind_mounts":[{"src_path":"/a","dst_path":"/b","mode":1}],"limits":{"cpu_limits":{"weight":5},"memory_limits":{"limit_in_bytes":1048576}}}`,
		`{"path":"ls","image":{"uri":"/rootfs"},"limits":{"cpu_limits":{"limit_in_shares":7}}}`,
		`{"path":"ls","image":{"uri":"docker:///busybox"}}`,
		`{"path":"ls","image":{"uri":"raw://relative"}}`,
		`{"path":"ls","rlimits":{"nofile":0},"tty":{"window_size":{}}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var s garden.ProcessSpec
		if json.Unmarshal(body, &s) != nil {
			return
		}
		roundTrip(t, s)
		e, err := ExecSpec(s)
		if err != nil {
			if errkind.Of(err) != errkind.InvalidSpec {
				t.Fatalf("ExecSpec(%s) = %v, want InvalidSpec", body, err)
			}
			return
		}
		roundTrip(t, e)
		if s.Path == "" || len(e.Args) != len(s.Args)+1 || e.Args[0] != s.Path || !slices.Equal(e.Args[1:], s.Args) {
			t.Fatalf("ExecSpec(%s): args %q", body, e.Args)
		}
		if !slices.Equal(e.Env, s.Env) || e.User != s.User || e.Dir != s.Dir {
			t.Fatalf("ExecSpec(%s) = %+v: does not mirror the spec", body, e)
		}
		for name, v := range e.Rlimits {
			if !slices.Contains(rlimitNames, name) {
				t.Fatalf("ExecSpec(%s): rlimit %q", body, name)
			}
			if got := reflect.ValueOf(s.Limits).FieldByNameFunc(func(f string) bool { return strings.EqualFold(f, name) }); got.IsNil() || got.Elem().Uint() != v {
				t.Fatalf("ExecSpec(%s): rlimit %s = %d", body, name, v)
			}
		}
		if (e.TTY != nil) != (s.TTY != nil) {
			t.Fatalf("ExecSpec(%s): tty %+v", body, e.TTY)
		}
		if (e.Pea != nil) != (s.Image.URI != "") {
			t.Fatalf("ExecSpec(%s): pea %+v for image %q", body, e.Pea, s.Image.URI)
		}
		if e.Pea == nil {
			if len(s.BindMounts) > 0 {
				t.Fatalf("ExecSpec(%s) accepted bind mounts without an image", body)
			}
			return
		}
		if !filepath.IsAbs(e.Pea.Image) {
			t.Fatalf("ExecSpec(%s): pea image %q", body, e.Pea.Image)
		}
		if len(e.Pea.BindMounts) != len(s.BindMounts) {
			t.Fatalf("ExecSpec(%s): %d pea bind mounts", body, len(e.Pea.BindMounts))
		}
		for i, bm := range s.BindMounts {
			if bm.Mode > garden.BindMountModeRW || bm.Origin > garden.BindMountOriginContainer {
				t.Fatalf("ExecSpec(%s) accepted bind mount mode %d origin %d, which Desired refuses", body, bm.Mode, bm.Origin)
			}
			if got := e.Pea.BindMounts[i]; got.Source != bm.SrcPath || got.Destination != bm.DstPath || got.ReadOnly != (bm.Mode == garden.BindMountModeRO) {
				t.Fatalf("pea bind mount %+v became %+v", bm, got)
			}
		}
		if l := e.Pea.Limits; l != nil {
			if l.CPUShares == 1 || l.MemoryBytes > math.MaxInt64 {
				t.Fatalf("ExecSpec(%s): pea limits %+v, which the container path refuses (shares 1) or caps (memory)", body, *l)
			}
		}
	})
}
