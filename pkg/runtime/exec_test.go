package runtime

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/gdn-dev/gdn/pkg/bundle"
	"github.com/gdn-dev/gdn/pkg/errkind"
	"github.com/opencontainers/runc/libcontainer/configs"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestProcessEnv(t *testing.T) {
	cases := []struct {
		name   string
		bundle []string
		env    []string
		user   string
		uid    int
		want   []string
	}{
		{
			name: "root defaults",
			want: []string{"PATH=" + rootPath, "USER=root"},
		},
		{
			name: "named user defaults",
			user: "alice", uid: 1000,
			want: []string{"PATH=" + userPath, "USER=alice"},
		},
		{
			name: "uid 0 under another name gets root's PATH",
			user: "toor", uid: 0,
			want: []string{"PATH=" + rootPath, "USER=toor"},
		},
		{
			name:   "bundle env first, then the process's",
			bundle: []string{"A=bundle", "B=1"},
			env:    []string{"A=process", "C=2"},
			want:   []string{"A=bundle", "B=1", "A=process", "C=2", "PATH=" + rootPath, "USER=root"},
		},
		{
			name: "process PATH and USER kept",
			env:  []string{"PATH=/mine", "USER=someone"},
			user: "alice", uid: 1000,
			want: []string{"PATH=/mine", "USER=someone"},
		},
		{
			name:   "bundle PATH kept",
			bundle: []string{"PATH=/bundle/bin"},
			want:   []string{"PATH=/bundle/bin", "USER=root"},
		},
		{
			name: "a prefix is not the variable",
			env:  []string{"PATHS=/x", "USERNAME=bob", "MYPATH=/y"},
			want: []string{"PATHS=/x", "USERNAME=bob", "MYPATH=/y", "PATH=" + rootPath, "USER=root"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := processEnv(tc.bundle, tc.env, tc.user, tc.uid)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("processEnv = %q\nwant %q", got, tc.want)
			}
		})
	}
}

func TestProcessEnvLeavesTheBundleEnvAlone(t *testing.T) {
	// Spare capacity invites an append to write into the caller's array.
	bundle := make([]string, 1, 8)
	bundle[0] = "A=1"
	processEnv(bundle, []string{"B=2"}, "", 0)
	if spare := bundle[1:cap(bundle)]; slices.ContainsFunc(spare, func(s string) bool { return s != "" }) {
		t.Errorf("processEnv wrote into the bundle env's array: %q", spare)
	}
}

func rlimit(typ string, v uint64) specs.POSIXRlimit {
	return specs.POSIXRlimit{Type: typ, Soft: v, Hard: v}
}

func TestWithRlimits(t *testing.T) {
	base := []specs.POSIXRlimit{
		{Type: "RLIMIT_NOFILE", Soft: 1024, Hard: 4096},
		{Type: "RLIMIT_CORE", Soft: 0, Hard: 0},
	}
	cases := []struct {
		name     string
		base     []specs.POSIXRlimit
		set      map[string]uint64
		want     []specs.POSIXRlimit
		wantKind errkind.Kind
	}{
		{name: "nothing set", base: base, want: base},
		{name: "nothing at all", want: nil},
		{
			name: "lower-case name replaces",
			base: base, set: map[string]uint64{"nofile": 100},
			want: []specs.POSIXRlimit{rlimit("RLIMIT_NOFILE", 100), base[1]},
		},
		{
			name: "upper-case name replaces",
			base: base, set: map[string]uint64{"NOFILE": 100},
			want: []specs.POSIXRlimit{rlimit("RLIMIT_NOFILE", 100), base[1]},
		},
		{
			name: "full name replaces",
			base: base, set: map[string]uint64{"RLIMIT_NOFILE": 100},
			want: []specs.POSIXRlimit{rlimit("RLIMIT_NOFILE", 100), base[1]},
		},
		{
			name: "mixed-case full name",
			base: base, set: map[string]uint64{"rlimit_NoFile": 100},
			want: []specs.POSIXRlimit{rlimit("RLIMIT_NOFILE", 100), base[1]},
		},
		{
			name: "new limit appended",
			base: base, set: map[string]uint64{"nproc": 50},
			want: append(slices.Clone(base), rlimit("RLIMIT_NPROC", 50)),
		},
		{
			name: "zero is a value",
			base: base, set: map[string]uint64{"nofile": 0},
			want: []specs.POSIXRlimit{rlimit("RLIMIT_NOFILE", 0), base[1]},
		},
		{
			name: "several",
			base: base, set: map[string]uint64{"nofile": 1, "core": 2, "stack": 3, "rttime": 4},
			want: []specs.POSIXRlimit{
				rlimit("RLIMIT_NOFILE", 1), rlimit("RLIMIT_CORE", 2), rlimit("RLIMIT_STACK", 3), rlimit("RLIMIT_RTTIME", 4),
			},
		},
		{name: "unknown", base: base, set: map[string]uint64{"bogus": 1}, wantKind: errkind.InvalidSpec},
		{name: "empty name", base: base, set: map[string]uint64{"": 1}, wantKind: errkind.InvalidSpec},
		{name: "prefix alone", base: base, set: map[string]uint64{"RLIMIT_": 1}, wantKind: errkind.InvalidSpec},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := slices.Clone(tc.base)
			got, err := withRlimits(tc.base, tc.set)
			if errkind.Of(err) != tc.wantKind {
				t.Fatalf("withRlimits = %v, %v; want kind %q", got, err, tc.wantKind)
			}
			if tc.wantKind != "" {
				return
			}
			// The order of new entries follows a map: compare as sets.
			if !reflect.DeepEqual(sorted(got), sorted(tc.want)) {
				t.Errorf("withRlimits = %v\nwant %v", got, tc.want)
			}
			if !reflect.DeepEqual(tc.base, before) {
				t.Errorf("withRlimits changed its base: %v, was %v", tc.base, before)
			}
		})
	}
}

func TestWithRlimitsTwoNamesForOneLimit(t *testing.T) {
	set := map[string]uint64{"nofile": 1, "RLIMIT_NOFILE": 3}
	for range 20 {
		if _, err := withRlimits(nil, set); errkind.Of(err) != errkind.InvalidSpec {
			t.Fatalf("two names for one limit: %v, want InvalidSpec", err)
		}
	}
	got, err := withRlimits(nil, map[string]uint64{"stack": 1, "as": 2, "nofile": 3, "core": 4})
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, r := range got {
		types = append(types, r.Type)
	}
	if want := []string{"RLIMIT_AS", "RLIMIT_CORE", "RLIMIT_NOFILE", "RLIMIT_STACK"}; !reflect.DeepEqual(types, want) {
		t.Errorf("new limits in order %v, want %v", types, want)
	}
}

func sorted(rl []specs.POSIXRlimit) []specs.POSIXRlimit {
	out := slices.Clone(rl)
	slices.SortFunc(out, func(a, b specs.POSIXRlimit) int { return strings.Compare(a.Type, b.Type) })
	return out
}

func TestOrDefault(t *testing.T) {
	cases := []struct{ v, def, want uint16 }{
		{0, 80, 80},
		{1, 80, 1},
		{132, 80, 132},
		{65535, 24, 65535},
	}
	for _, tc := range cases {
		if got := orDefault(tc.v, tc.def); got != tc.want {
			t.Errorf("orDefault(%d, %d) = %d, want %d", tc.v, tc.def, got, tc.want)
		}
	}
}

// A non-root user in a privileged container holds Guardian's reduced set,
// root the bundle's whole set.
func TestBuildProcessCapabilities(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	passwd := "root:x:0:0::/root:/bin/sh\nalice:x:1000:1000::/home/alice:/bin/sh\nop:x:37:0::/:/bin/sh\n"
	if err := os.WriteFile(filepath.Join(dir, "etc", "passwd"), []byte(passwd), 0o644); err != nil {
		t.Fatal(err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	all := slices.Clone(bundle.PrivilegedCapabilities)
	base := &specs.Process{Capabilities: &specs.LinuxCapabilities{Bounding: all, Effective: all, Inheritable: all, Permitted: all}}
	for _, tc := range []struct {
		user string
		want []string
	}{{"", all}, {"root", all}, {"alice", bundle.NonRootCapabilities}, {"op", bundle.NonRootCapabilities}, {"0:5", bundle.NonRootCapabilities}} {
		p, err := buildProcess(base, root, ExecSpec{Args: []string{"true"}, User: tc.user}, configs.Config{})
		if err != nil {
			t.Fatalf("%q: %v", tc.user, err)
		}
		c := p.Process.Capabilities
		for _, set := range [][]string{c.Bounding, c.Effective, c.Inheritable, c.Permitted} {
			if !slices.Equal(slices.Sorted(slices.Values(set)), slices.Sorted(slices.Values(tc.want))) {
				t.Errorf("user %q: set %v, want %v", tc.user, set, tc.want)
			}
		}
	}
	if len(base.Capabilities.Bounding) != len(all) {
		t.Error("buildProcess changed the bundle's process")
	}
}
