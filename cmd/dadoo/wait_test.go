package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gdn-dev/gdn/pkg/dadoo"
	"github.com/gdn-dev/gdn/pkg/procdir"
	"github.com/gdn-dev/gdn/pkg/testutil"
	"golang.org/x/sys/unix"
)

// starterScript stands in for gdn-run: start-process and start-pea start
// a shell on the stdio FIFOs dadoo hands over (fds 3, 4, 5) that prints to
// both outputs, then exits 7 once a line arrives on its stdin; delete (a
// pea's cleanup) leaves a marker.
const starterScript = `#!/bin/sh
case "$3" in
start-process|start-pea)
	cat >/dev/null
	sh -c 'echo out; echo err >&2; read line; exit 7' <&3 >&4 2>&5 3<&- 4>&- 5>&- &
	echo "{\"pid\":$!}"
	;;
delete) touch "$MARKER_DIR/deleted-$4" ;;
esac
`

// built holds, by withWait, the directories binaries made; TestMain
// removes them.
var built = map[bool]string{}

func TestMain(m *testing.M) {
	code := m.Run()
	for _, dir := range built {
		os.RemoveAll(dir)
	}
	os.Exit(code)
}

// binaries builds dadoo, and dadoo-wait beside it if withWait, into a
// directory of their own, once per test run.
func binaries(t *testing.T, withWait bool) string {
	t.Helper()
	if dir, ok := built[withWait]; ok {
		return dir
	}
	dir, err := os.MkdirTemp("", "dadoo-bin-")
	if err != nil {
		t.Fatal(err)
	}
	built[withWait] = dir
	if out, err := exec.Command("go", "build", "-o", filepath.Join(dir, "dadoo"), ".").CombinedOutput(); err != nil {
		t.Fatalf("build dadoo: %v: %s", err, out)
	}
	if withWait {
		testutil.CProgram(t, dir, "dadoo-wait")
	}
	if err := os.WriteFile(filepath.Join(dir, "starter"), []byte(starterScript), 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// monitored is one process under a dadoo started as gdn-server starts it.
type monitored struct {
	cmd   *exec.Cmd
	dir   procdir.Dir
	pid   int // the process's
	stdin *os.File
	log   *bytes.Buffer
}

func startMonitored(t *testing.T, bin, pea string, env ...string) *monitored {
	t.Helper()
	tmp := t.TempDir()
	d, err := procdir.Path(tmp, "p1")
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Create(os.Getuid(), os.Getgid()); err != nil {
		t.Fatal(err)
	}
	// The launcher's writer on stdin: the process sees no EOF.
	stdin, err := os.OpenFile(d.File(procdir.Stdin), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stdin.Close() })
	syncR, syncW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer syncR.Close()
	m := &monitored{dir: d, stdin: stdin, log: &bytes.Buffer{}}
	m.cmd = exec.Command(filepath.Join(bin, "dadoo"), dadoo.Args(filepath.Join(bin, "starter"), filepath.Join(tmp, "run"), "h1", d, pea)...)
	m.cmd.Stdin = strings.NewReader(`{"process":{"args":["sh"]}}`)
	m.cmd.Stderr = m.log
	m.cmd.ExtraFiles = []*os.File{syncW}
	m.cmd.Env = append(os.Environ(), append([]string{"MARKER_DIR=" + tmp}, env...)...)
	m.cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	err = m.cmd.Start()
	syncW.Close()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = m.cmd.Process.Kill()
		_ = m.cmd.Wait()
	})
	if m.pid, err = dadoo.ReadSync(syncR); err != nil {
		t.Fatalf("sync: %v; log: %s", err, m.log)
	}
	return m
}

// waitOutput waits until the process has written to its stdout FIFO.
func (m *monitored) waitOutput(t *testing.T) {
	t.Helper()
	f, err := os.OpenFile(m.dir.File(procdir.Stdout), os.O_RDONLY|unix.O_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if n, err := unix.IoctlGetInt(int(f.Fd()), unix.TIOCINQ); err == nil && n > 0 {
			return
		}
	}
	t.Fatal("the process wrote nothing")
}

// exe is the binary the dadoo process runs now; it waits a little for
// an exec that follows the sync message.
func (m *monitored) exe(t *testing.T, want string) string {
	t.Helper()
	var got string
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		got, _ = os.Readlink("/proc/" + strconv.Itoa(m.cmd.Process.Pid) + "/exe")
		// Mid-exec, the new binary shows before its command line does.
		cmdline, _ := os.ReadFile("/proc/" + strconv.Itoa(m.cmd.Process.Pid) + "/cmdline")
		if filepath.Base(got) == want && len(cmdline) > 0 {
			break
		}
	}
	return filepath.Base(got)
}

// waitExitFIFO waits until the exit FIFO reaches EOF (no writer holds it
// any more): the exit code is on disk. It opens the FIFO non-blocking: a
// blocking open waits for a writer, forever if the monitor closed its end
// before the open (it did, now and then, with a fast process).
func (m *monitored) waitExitFIFO(t *testing.T) {
	t.Helper()
	fd, err := unix.Open(m.dir.File(procdir.Exit), unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		n, err := unix.Read(fd, make([]byte, 1))
		switch {
		case n > 0:
			t.Fatal("the exit FIFO gave data, want EOF")
		case err == nil:
			return // EOF
		case err != unix.EAGAIN:
			t.Fatal(err)
		}
	}
	t.Fatal("the exit FIFO is still held open")
}

func readFIFO(t *testing.T, path string) string {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDONLY|unix.O_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, 4096)
	n, _ := f.Read(b)
	return string(b[:n])
}

// logStatus is the status of dadoo's "exited" log line, or -1.
func logStatus(t *testing.T, log string) int {
	t.Helper()
	sc := bufio.NewScanner(strings.NewReader(log))
	for sc.Scan() {
		var line struct {
			Msg    string `json:"msg"`
			Tool   string `json:"tool"`
			Handle string `json:"handle"`
			Status *int   `json:"status"`
		}
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Errorf("log line is not JSON: %q", sc.Text())
			continue
		}
		if line.Msg == "exited" && line.Tool == "dadoo" && line.Handle == "h1" && line.Status != nil {
			return *line.Status
		}
	}
	return -1
}

// TestWaitTakesOver: once a process without a terminal runs, dadoo execs
// dadoo-wait from beside itself, which keeps the command line that names
// the process directory, records the exit code (a line on stdin ends the
// process with 7; SIGKILL with 137), lingers while output is unread,
// runs a pea's cleanup and exits with the process's status. Without
// dadoo-wait, dadoo does the same itself.
func TestWaitTakesOver(t *testing.T) {
	for _, tc := range []struct {
		name     string
		withWait bool
		pea      string
		kill     bool
		want     int
	}{
		{name: "dadoo-wait", withWait: true, want: 7},
		{name: "dadoo-wait, killed", withWait: true, kill: true, want: 128 + 9},
		{name: "dadoo-wait, pea", withWait: true, pea: "pea1", want: 7},
		{name: "no dadoo-wait", want: 7},
		{name: "no dadoo-wait, pea", pea: "pea1", want: 7},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bin := binaries(t, tc.withWait)
			m := startMonitored(t, bin, tc.pea)
			wantExe := "dadoo"
			if tc.withWait {
				wantExe = "dadoo-wait"
			}
			if got := m.exe(t, wantExe); got != wantExe {
				t.Fatalf("the monitor runs %s, want %s; log: %s", got, wantExe, m.log)
			}
			cmdline, _ := os.ReadFile("/proc/" + strconv.Itoa(m.cmd.Process.Pid) + "/cmdline")
			if args := strings.Split(strings.TrimSuffix(string(cmdline), "\x00"), "\x00"); filepath.Base(args[0]) != "dadoo" || args[len(args)-1] != string(m.dir) {
				t.Errorf("command line %q: want dadoo's, ending with the process dir; log: %s", args, m.log)
			}
			m.waitOutput(t)
			if tc.kill {
				if err := unix.Kill(m.pid, unix.SIGKILL); err != nil {
					t.Fatal(err)
				}
			} else if _, err := m.stdin.WriteString("go\n"); err != nil {
				t.Fatal(err)
			}
			m.waitExitFIFO(t)
			if status, ok, err := m.dir.ReadExitCode(); err != nil || !ok || status != tc.want {
				t.Fatalf("exit code %d, %v, %v; want %d", status, ok, err, tc.want)
			}
			// Output is unread: the monitor stays.
			time.Sleep(300 * time.Millisecond)
			if err := unix.Kill(m.cmd.Process.Pid, 0); err != nil {
				t.Fatalf("the monitor is gone with output unread: %v", err)
			}
			if got := readFIFO(t, m.dir.File(procdir.Stdout)) + readFIFO(t, m.dir.File(procdir.Stderr)); got != "out\nerr\n" {
				t.Errorf("output %q, want out and err", got)
			}
			done := make(chan error, 1)
			go func() { done <- m.cmd.Wait() }()
			var err error
			select {
			case err = <-done:
			case <-time.After(5 * time.Second):
				t.Fatal("the monitor is still there with its output read")
			}
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != tc.want {
				t.Errorf("the monitor ended with %v, want status %d", err, tc.want)
			}
			if got := logStatus(t, m.log.String()); got != tc.want {
				t.Errorf("logged exit status %d, want %d; log: %s", got, tc.want, m.log)
			}
			// Reaped: no zombie of the process is left anywhere we could see.
			if _, err := os.Stat("/proc/" + strconv.Itoa(m.pid)); err == nil {
				if st, _ := os.ReadFile("/proc/" + strconv.Itoa(m.pid) + "/stat"); !bytes.Contains(st, []byte(") Z")) {
					t.Errorf("the process %d still runs", m.pid)
				}
			}
			_, err = os.Stat(filepath.Join(filepath.Dir(filepath.Dir(string(m.dir))), "deleted-"+tc.pea))
			if cleaned := err == nil; cleaned != (tc.pea != "") {
				t.Errorf("pea cleanup ran = %v, want %v", cleaned, tc.pea != "")
			}
		})
	}
}

// TestWaitCrashPoint: dadoo-wait honours the crash point "dadoo.exited"
// (pkg/crash) as dadoo does: killed right after the exit code is on disk.
func TestWaitCrashPoint(t *testing.T) {
	bin := binaries(t, true)
	crashLog := filepath.Join(t.TempDir(), "crashes")
	m := startMonitored(t, bin, "", "GDN_TEST_CRASH_AT=gdn-run.exec.started, dadoo.exited", "GDN_TEST_CRASH_LOG="+crashLog)
	if got := m.exe(t, "dadoo-wait"); got != "dadoo-wait" {
		t.Fatalf("the monitor runs %s, want dadoo-wait", got)
	}
	if _, err := m.stdin.WriteString("go\n"); err != nil {
		t.Fatal(err)
	}
	err := m.cmd.Wait()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("the monitor ended with %v, want SIGKILL", err)
	}
	if status, ok, _ := m.dir.ReadExitCode(); !ok || status != 7 {
		t.Errorf("exit code %d, %v; want 7 on disk before the crash", status, ok)
	}
	if b, _ := os.ReadFile(crashLog); string(b) != "dadoo.exited\n" {
		t.Errorf("crash log %q, want dadoo.exited", b)
	}
}
