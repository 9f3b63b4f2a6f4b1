package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gdn-dev/gdn/pkg/depot"
	"github.com/gdn-dev/gdn/pkg/errkind"
)

// run executes gdn-depot in-process with stdin and returns its stdout.
func run(t *testing.T, stdin string, args ...string) (string, error) {
	t.Helper()
	root := newRootCmd()
	var out bytes.Buffer
	root.SetArgs(args)
	root.SetIn(strings.NewReader(stdin))
	root.SetOut(&out)
	root.SetErr(&out)
	root.SilenceErrors, root.SilenceUsage = true, true
	err := root.Execute()
	return out.String(), err
}

func TestCreateMergesSpecFileFlagsAndStdin(t *testing.T) {
	dir := t.TempDir()
	rootfs, initBin := filepath.Join(dir, "rootfs"), filepath.Join(dir, "gdn-init")
	dep := filepath.Join(dir, "depot")
	specFile := filepath.Join(dir, "spec.json")
	_ = os.Mkdir(rootfs, 0o755)
	_ = os.WriteFile(initBin, nil, 0o755)
	_ = os.WriteFile(specFile, []byte(`{"env":["FROM_SPEC=1"],"properties":{"a":"spec","b":"spec"},
		"limits":{"memory_limits":{"limit_in_bytes":1024},"cpu_limits":{"limit_in_shares":100},"pid_limits":{"max":7}}}`), 0o600)
	partial := `{"root":{"path":"` + rootfs + `"},"process":{"env":["PATH=/bin"]},"mounts":[]}`

	out, err := run(t, partial, "--depot", dep, "create", "c1", "--spec", specFile, "--init-bin", initBin,
		"--env", "FROM_FLAG=1", "--memory-limit", "64M", "--cpu-weight", "300", "--property", "b=flag", "--privileged")
	if err != nil {
		t.Fatalf("create: %v\n%s", err, out)
	}
	if out != `{"handle":"c1","bundle":"`+filepath.Join(dep, "c1")+`"}`+"\n" {
		t.Errorf("create printed %q", out)
	}
	out, err = run(t, "", "--depot", dep, "show", "c1")
	if err != nil {
		t.Fatal(err)
	}
	var s depot.Summary
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		t.Fatalf("show printed %q", out)
	}
	want := depot.Limits{MemoryBytes: 64 << 20, CPUShares: 300, PidsMax: 7}
	if !s.Privileged || s.Rootfs != rootfs || s.Limits != want || s.Properties["a"] != "spec" || s.Properties["b"] != "flag" {
		t.Errorf("show = %+v", s)
	}
	config, _ := os.ReadFile(filepath.Join(dep, "c1", "config.json"))
	if !strings.Contains(string(config), `"env":["PATH=/bin","FROM_SPEC=1","FROM_FLAG=1"]`) {
		t.Errorf("env not image, spec, flags: %s", config)
	}
}

func TestCommandErrors(t *testing.T) {
	dir := t.TempDir()
	dep := filepath.Join(dir, "depot")
	cases := []struct {
		stdin string
		args  []string
		want  errkind.Kind
	}{
		{"", []string{"create", "c1", "--init-bin", "/x"}, errkind.InvalidSpec},
		{`{"process":{}}`, []string{"create", "c1"}, errkind.InvalidSpec},
		{"", []string{"create", "c1", "--rootfs", dir, "--memory-limit", "lots"}, errkind.InvalidSpec},
		{"", []string{"create", "bad/handle", "--rootfs", dir}, errkind.InvalidHandle},
		{"", []string{"show", "nope"}, errkind.ContainerNotFound},
		{"", []string{"props", "nope", "list"}, errkind.ContainerNotFound},
		{"", []string{"props", "nope", "frob"}, errkind.Usage},
		{"", []string{"list", "--property", "novalue"}, errkind.Usage},
	}
	for _, tc := range cases {
		_, err := run(t, tc.stdin, append([]string{"--depot", dep}, tc.args...)...)
		if errkind.Of(err) != tc.want {
			t.Errorf("%v: got %v, want %s", tc.args, err, tc.want)
		}
	}
	out, err := run(t, "", "--depot", dep, "destroy", "nope")
	if err != nil || out != `{"handle":"nope","destroyed":false}`+"\n" {
		t.Errorf("destroy of an absent handle: %q %v", out, err)
	}
}

// A property bigger than a command line can carry (128 KiB per argument)
// goes on stdin, through set KEY or merge, and comes back whole; a NUL in
// a key, which no exec could pass, is a clear InvalidSpec.
func TestPropsOnStdin(t *testing.T) {
	dir := t.TempDir()
	dep, initBin := filepath.Join(dir, "depot"), filepath.Join(dir, "gdn-init")
	_ = os.WriteFile(initBin, nil, 0o755)
	// Privileged: the test's rootfs is not one an unprivileged container
	// root could reach (t.TempDir is 0700), and need not be.
	if _, err := run(t, "", "--depot", dep, "create", "c1", "--rootfs", dir, "--init-bin", initBin, "--privileged"); err != nil {
		t.Fatal(err)
	}
	big := strings.Repeat("0123456789abcdef", 200<<10/16) // 200 KiB
	if _, err := run(t, big, "--depot", dep, "props", "c1", "set", "big"); err != nil {
		t.Fatal(err)
	}
	merged, _ := json.Marshal(map[string]string{"big2": big + "!"})
	if _, err := run(t, string(merged), "--depot", dep, "props", "c1", "merge"); err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]string{"big": big, "big2": big + "!"} {
		out, err := run(t, "", "--depot", dep, "props", "c1", "get", key)
		var v struct{ Value string }
		if err != nil || json.Unmarshal([]byte(out), &v) != nil || v.Value != want {
			t.Errorf("get %s: %d bytes back, %v; want %d", key, len(v.Value), err, len(want))
		}
	}
	for _, stdin := range []string{`{"a\u0000b":"v"}`, `{"":"v"}`, `{"k":"a\u0000b"}`} {
		_, err := run(t, stdin, "--depot", dep, "props", "c1", "merge")
		if errkind.Of(err) != errkind.InvalidSpec {
			t.Errorf("merge %s: %v, want InvalidSpec", stdin, err)
		}
	}
	if _, err := run(t, strings.Repeat("v", depot.MaxValueBytes+1), "--depot", dep, "props", "c1", "set", "huge"); errkind.Of(err) != errkind.InvalidSpec {
		t.Errorf("a value over 1 MiB: %v, want InvalidSpec", err)
	}
	out, _ := run(t, "", "--depot", dep, "props", "c1", "list")
	var l struct{ Properties map[string]string }
	if json.Unmarshal([]byte(out), &l) != nil || len(l.Properties) != 2 {
		t.Errorf("after the refused changes: %d properties, want 2", len(l.Properties))
	}
}

func TestInvalidTag(t *testing.T) {
	t.Setenv("GDN_TAG", "Bad-Tag")
	_, err := run(t, "", "--depot", t.TempDir(), "list")
	if errkind.Of(err) != errkind.InvalidSpec || !strings.Contains(err.Error(), "invalid tag") {
		t.Errorf("an invalid GDN_TAG: %v, want InvalidSpec", err)
	}
}
