package spawn

import (
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The test binary is its own helper when its first argument says so.
const helperArg = "spawn-helper"

func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == helperArg {
		if err := Serve(os.NewFile(3, "ctl")); err != nil {
			os.Stderr.WriteString(err.Error() + "\n")
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func newSpawner(t *testing.T) *Spawner {
	t.Helper()
	s, err := New("/proc/self/exe", helperArg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// runIn starts argv with stdin and collects stdout and stderr.
func runIn(t *testing.T, s *Spawner, stdin string, extra []*os.File, argv ...string) (string, string, State) {
	t.Helper()
	inR, inW := pipe(t)
	outR, outW := pipe(t)
	errR, errW := pipe(t)
	p, err := s.Start(Cmd{Path: argv[0], Args: argv, Env: []string{"GREETING=hello"},
		Stdin: inR, Stdout: outW, Stderr: errW, ExtraFiles: extra})
	inR.Close()
	outW.Close()
	errW.Close()
	if err != nil {
		t.Fatal(err)
	}
	go func() { io.WriteString(inW, stdin); inW.Close() }()
	outc, errc := make(chan string), make(chan string)
	go func() { b, _ := io.ReadAll(outR); outc <- string(b) }()
	go func() { b, _ := io.ReadAll(errR); errc <- string(b) }()
	st, err := p.Wait()
	if err != nil {
		t.Fatal(err)
	}
	return <-outc, <-errc, st
}

func pipe(t *testing.T) (*os.File, *os.File) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(); w.Close() })
	return r, w
}

func TestRunGetsItsFilesArgumentsAndEnvironment(t *testing.T) {
	s := newSpawner(t)
	xR, xW := pipe(t)
	out, errOut, st := runIn(t, s, "in", []*os.File{xW},
		"/bin/sh", "-c", `cat; echo " $GREETING $0"; echo oops >&2; echo extra >&3; exit 3`, "arg")
	xW.Close()
	extra, _ := io.ReadAll(xR)
	if out != "in hello arg\n" || errOut != "oops\n" || string(extra) != "extra\n" {
		t.Errorf("stdout %q, stderr %q, fd 3 %q", out, errOut, extra)
	}
	if st.ExitCode != 3 || st.Success() || st.String() != "exit status 3" {
		t.Errorf("state %+v (%s), want exit status 3", st, st)
	}
	_, _, st = runIn(t, s, "", nil, "/bin/sh", "-c", `i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done`)
	if !st.Success() || st.User+st.System <= 0 {
		t.Errorf("a busy run: %+v, want success and some CPU", st)
	}
}

func TestTheHelperKeepsASmallFileTable(t *testing.T) {
	s := newSpawner(t)
	// The server's files: many, opened after the helper started.
	marker := filepath.Join(t.TempDir(), "server-file")
	if err := os.WriteFile(marker, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	var files []*os.File
	for range 200 {
		f, err := os.Open(marker)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		files = append(files, f)
	}
	// Runs that get some of them: the helper passes them on and keeps
	// none (a leak there would grow its table, and every fork's cost,
	// with every run).
	for i := range 50 {
		out, _, st := runIn(t, s, "", files[i:i+2], "/bin/cat", "/proc/self/fd/3", "/proc/self/fd/4")
		if out != "xx" || !st.Success() {
			t.Fatalf("run %d: %q %v", i, out, st)
		}
	}
	held, _ := exec.Command("/usr/bin/find", "/proc/"+strconv.Itoa(s.Pid())+"/fd", "-lname", marker).Output()
	table, err := os.ReadDir("/proc/" + strconv.Itoa(s.Pid()) + "/fd")
	if err != nil || len(held) != 0 || len(table) > 32 {
		t.Errorf("the helper holds %d files (%v), the server's among them: %q", len(table), err, held)
	}
}

func TestSignalsReachTheRunAndItsEndIsReported(t *testing.T) {
	s := newSpawner(t)
	p, err := s.Start(Cmd{Path: "/bin/sleep", Args: []string{"sleep", "100"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	st, err := p.Wait()
	if err != nil || st.Signal != syscall.SIGINT || st.ExitCode != -1 || st.String() != "signal: interrupt" {
		t.Fatalf("state %+v (%v), want killed by SIGINT", st, err)
	}
	if _, err := s.Start(Cmd{Path: "/nonexistent", Args: []string{"x"}}); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("a missing program: %v", err)
	}
}

func TestAHelperThatDiedIsReplaced(t *testing.T) {
	s := newSpawner(t)
	old := s.Pid()
	if err := syscall.Kill(old, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitGone(t, old)
	out, _, st := runIn(t, s, "", nil, "/bin/echo", "again")
	if out != "again\n" || !st.Success() || s.Pid() == old {
		t.Errorf("after the helper died: %q %v, helper %d (was %d)", out, st, s.Pid(), old)
	}
}

func TestTheHelperOutlivesTheServerUntilItsRunsEnd(t *testing.T) {
	s := newSpawner(t)
	marker := filepath.Join(t.TempDir(), "done")
	p, err := s.Start(Cmd{Path: "/bin/sh", Args: []string{"sh", "-c", "sleep 0.3; echo > " + marker}})
	if err != nil {
		t.Fatal(err)
	}
	helper := s.Pid()
	s.Close()
	if _, err := p.Wait(); err != nil {
		t.Fatalf("a run started before the close: %v", err)
	}
	if _, err := os.Stat(marker); err != nil {
		t.Fatalf("the run did not finish: %v", err)
	}
	waitGone(t, helper)
}

// waitGone waits until pid is no more (or a zombie: see the machine's
// notes on orphans).
func waitGone(t *testing.T, pid int) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		stat, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
		if errors.Is(err, os.ErrNotExist) || strings.Contains(string(stat), ") Z ") {
			return
		}
	}
	t.Fatalf("process %d still there", pid)
}

// A program started as a helper that does not serve (a test binary that
// runs its tests instead) must not start helpers in turn: that recursion
// forks without end.
func TestAHelperStartsNoHelper(t *testing.T) {
	t.Setenv(helperMarker, "1")
	if s, err := New("/proc/self/exe", helperArg); err == nil {
		s.Close()
		t.Fatal("a helper started a helper")
	}
}
