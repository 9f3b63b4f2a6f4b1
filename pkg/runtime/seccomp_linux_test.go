package runtime

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gdn-dev/gdn/pkg/bundle"
	"github.com/opencontainers/runc/libcontainer/configs"
	"golang.org/x/sys/unix"
)

// statusField returns a field of /proc/PID/status.
func statusField(t *testing.T, pid int, name string) string {
	t.Helper()
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(l, name+":"); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// TestInitLoadsTheFilterLibcontainerLoads: gdn-init's filter, compiled
// once, is instruction for instruction the one libcontainer builds and
// loads into an exec'd process of the same container; the container's
// recorded configuration keeps the profile, and a second create takes
// the filter from the cache.
func TestInitLoadsTheFilterLibcontainerLoads(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	h := "rt-seccomp"
	b := f.bundle(t, h, bundle.Desired{}, f.init)
	st, err := f.rt.Create(ctx, h, b)
	if err != nil {
		t.Fatal(err)
	}
	if nnp, mode, n := statusField(t, st.Pid, "NoNewPrivs"), statusField(t, st.Pid, "Seccomp"), statusField(t, st.Pid, "Seccomp_filters"); nnp != "1" || mode != "2" || n != "1" {
		t.Fatalf("init: NoNewPrivs %s, Seccomp %s, filters %s; want gdn-init's own filter", nnp, mode, n)
	}
	initFilter, err := readFilter(st.Pid)
	if err != nil {
		t.Fatal(err)
	}

	var state struct {
		Config struct {
			Seccomp json.RawMessage `json:"seccomp"`
		} `json:"config"`
	}
	data, err := os.ReadFile(filepath.Join(f.rt.root, h, "state.json"))
	if err != nil || json.Unmarshal(data, &state) != nil || len(state.Config.Seccomp) < 100 {
		t.Fatalf("state.json's seccomp profile: %.80s, %v", state.Config.Seccomp, err)
	}

	// libcontainer's own compilation, for an exec'd process: the same
	// program.
	handOverExec = false
	execFilter := f.sleeperFilter(t, h)
	handOverExec = true
	if !sameProgram(initFilter, execFilter) {
		t.Errorf("gdn-init's filter (%d instructions) differs from libcontainer's (%d)", len(initFilter)/8, len(execFilter)/8)
	}
	// An exec'd process gets the compiled filter handed over: the same,
	// without no_new_privs.
	if handed := f.sleeperFilter(t, h); !bytes.Equal(handed, initFilter) {
		t.Errorf("the exec'd process's filter (%d instructions) is not the compiled one (%d)", len(handed)/8, len(initFilter)/8)
	}

	cached, _ := filepath.Glob(filepath.Join(f.rt.seccompCache(), "*"))
	if len(cached) != 1 {
		t.Fatalf("cache: %v, want one compiled profile", cached)
	}
	before, _ := os.Stat(cached[0])
	h2 := "rt-seccomp-2"
	st2, err := f.rt.Create(ctx, h2, f.bundle(t, h2, bundle.Desired{}, f.init))
	if err != nil {
		t.Fatal(err)
	}
	if statusField(t, st2.Pid, "NoNewPrivs") != "1" {
		t.Error("second init did not load the filter itself")
	}
	if after, err := os.Stat(cached[0]); err != nil || !after.ModTime().Equal(before.ModTime()) {
		t.Errorf("the second create compiled again: %v", err)
	}
}

// sleeperFilter execs a sleep in h and returns its seccomp filter, and
// checks it has one filter and no no_new_privs.
func (f *fixture) sleeperFilter(t *testing.T, h string) []byte {
	t.Helper()
	p, err := f.rt.PrepareProcess(h, ExecSpec{Args: []string{"sleep", "30"}})
	if err != nil {
		t.Fatal(err)
	}
	devnull, _ := os.Open(os.DevNull)
	defer devnull.Close()
	pid, err := f.rt.StartProcess(h, p, ProcessIO{Stdin: devnull, Stdout: devnull, Stderr: devnull})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = unix.Kill(pid, unix.SIGKILL)
		var ws unix.WaitStatus
		_, _ = unix.Wait4(pid, &ws, 0, nil)
	}()
	// The filter is loaded before the exec of sleep.
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if exe, _ := os.Readlink("/proc/" + strconv.Itoa(pid) + "/exe"); strings.HasSuffix(exe, "busybox") || strings.HasSuffix(exe, "sleep") {
			if nnp, n := statusField(t, pid, "NoNewPrivs"), statusField(t, pid, "Seccomp_filters"); nnp != "0" || n != "1" {
				t.Errorf("exec'd process: NoNewPrivs %s, Seccomp_filters %s; want 0 and 1", nnp, n)
			}
			prog, err := readFilter(pid)
			if err != nil {
				t.Fatal(err)
			}
			return prog
		}
	}
	t.Fatal("the exec'd process never ran sleep")
	return nil
}

// sameProgram: libcontainer puts a stub before libseccomp's program that
// answers ENOSYS for syscalls newer than the profile knows, one branch per
// architecture in Go's map order, which differs from run to run; the
// program after it is libseccomp's, and must be the same.
func sameProgram(a, b []byte) bool {
	const insn = 8
	if len(a) != len(b) {
		return false
	}
	same := len(a)
	for same > 0 && bytes.Equal(a[same-insn:same], b[same-insn:same]) {
		same -= insn
	}
	return same <= 16*insn
}

// TestInitThatDoesNotLoadTheFilterFailsTheCreate: an init that ignores
// the filter (an older gdn-init, here a script) must not leave a
// container running without one, whether it exits or sleeps.
func TestInitThatDoesNotLoadTheFilterFailsTheCreate(t *testing.T) {
	saved := seccompAckTimeout
	seccompAckTimeout = 500 * time.Millisecond
	defer func() { seccompAckTimeout = saved }()
	f := newFixture(t)
	for name, script := range map[string]string{"exits": "#!/bin/sh\nexit 0\n", "sleeps": "#!/bin/sh\nexec sleep 60\n"} {
		t.Run(name, func(t *testing.T) {
			init := filepath.Join(f.dir, "old-init-"+name)
			if err := os.WriteFile(init, []byte(script), 0o755); err != nil {
				t.Fatal(err)
			}
			h := "rt-seccomp-old-" + name
			_, err := f.rt.Create(context.Background(), h, f.bundle(t, h, bundle.Desired{}, init))
			if err == nil || !strings.Contains(err.Error(), "did not load the seccomp filter") {
				t.Fatalf("create: %v; want the missing filter named", err)
			}
			f.assertGone(t, h)
		})
	}
}

// recordProfile adds the profile to a state libcontainer wrote without
// one, by bytes or, for a state of another shape, decoded whole.
func TestRecordProfile(t *testing.T) {
	profile := &configs.Seccomp{DefaultAction: configs.Errno, Architectures: []string{"amd64"},
		Syscalls: []*configs.Syscall{{Name: "read", Action: configs.Allow}}}
	for name, state := range map[string]string{
		"libcontainer's":    `{"id":"h","init_process_pid":7,"config":{"rootfs":"/r","labels":["bundle=/b"]},"external_descriptors":[]}`,
		"an empty config":   `{"id":"h","config":{}}`,
		"another shape":     `{"config":{"rootfs":"/r"},"x":{"config":{"y":1}}}`,
		"a profile already": `{"config":{"rootfs":"/r","seccomp":null}}`,
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "state.json"), []byte(state), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := recordProfile(dir, profile); err != nil {
				t.Fatal(err)
			}
			data, _ := os.ReadFile(filepath.Join(dir, "state.json"))
			var got struct {
				Config struct {
					Rootfs  string           `json:"rootfs"`
					Seccomp *configs.Seccomp `json:"seccomp"`
				} `json:"config"`
			}
			if err := json.Unmarshal(data, &got); err != nil {
				t.Fatalf("%s: %v", data, err)
			}
			if got.Config.Seccomp == nil || len(got.Config.Seccomp.Syscalls) != 1 || got.Config.Seccomp.Syscalls[0].Name != "read" {
				t.Errorf("%s: no profile", data)
			}
			if strings.Contains(state, `"rootfs"`) && got.Config.Rootfs != "/r" {
				t.Errorf("%s: the rest of the config is lost", data)
			}
		})
	}
}

// TestUncompiledProfileFallsBackToLibcontainer: where the profile cannot
// be compiled ahead (no PTRACE_SECCOMP_GET_FILTER), the init compiles and
// loads it as runc's does.
func TestUncompiledProfileFallsBackToLibcontainer(t *testing.T) {
	saved := compile
	compile = func([]byte) ([]byte, error) { return nil, errors.New("no PTRACE_SECCOMP_GET_FILTER here") }
	defer func() { compile = saved }()
	f := newFixture(t)
	h := "rt-seccomp-fallback"
	st, err := f.rt.Create(context.Background(), h, f.bundle(t, h, bundle.Desired{}, f.init))
	if err != nil {
		t.Fatal(err)
	}
	if nnp, mode := statusField(t, st.Pid, "NoNewPrivs"), statusField(t, st.Pid, "Seccomp"); nnp != "0" || mode != "2" {
		t.Errorf("init: NoNewPrivs %s, Seccomp %s; want libcontainer's filter", nnp, mode)
	}
}
