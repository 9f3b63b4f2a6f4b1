package dadoo

import (
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"reflect"
	"testing"
	"time"

	"github.com/gdn-dev/gdn/pkg/procdir"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// preparedJSON is a prepared process as gdn-run writes it: the OCI
// process under "process".
func preparedJSON(t *testing.T, p *specs.Process) []byte {
	t.Helper()
	b, err := json.Marshal(struct {
		Process *specs.Process `json:"process"`
		HostUID int            `json:"host_uid"`
	}{p, 1000})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestTerminalOf(t *testing.T) {
	cases := []struct {
		name     string
		spec     func(t *testing.T) []byte
		wantTTY  bool
		wantSize *procdir.WindowSize
		wantErr  bool
	}{
		{
			name: "terminal with a size",
			spec: func(t *testing.T) []byte {
				return preparedJSON(t, &specs.Process{Args: []string{"sh"}, Terminal: true, ConsoleSize: &specs.Box{Width: 132, Height: 43}})
			},
			wantTTY:  true,
			wantSize: &procdir.WindowSize{Columns: 132, Rows: 43},
		},
		{
			name: "terminal without a size",
			spec: func(t *testing.T) []byte {
				return preparedJSON(t, &specs.Process{Args: []string{"sh"}, Terminal: true})
			},
			wantTTY: true,
		},
		{
			name: "no terminal",
			spec: func(t *testing.T) []byte {
				return preparedJSON(t, &specs.Process{Args: []string{"true"}})
			},
		},
		{name: "no process", spec: func(*testing.T) []byte { return []byte(`{}`) }},
		{name: "not JSON", spec: func(*testing.T) []byte { return []byte(`{"process":`) }, wantErr: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tty, size, err := terminalOf(tc.spec(t))
			if (err != nil) != tc.wantErr {
				t.Fatalf("terminalOf error = %v, want error %v", err, tc.wantErr)
			}
			if tty != tc.wantTTY || !reflect.DeepEqual(size, tc.wantSize) {
				t.Errorf("terminalOf = %v, %+v; want %v, %+v", tty, size, tc.wantTTY, tc.wantSize)
			}
		})
	}
}

func TestWaitExitStatusWithoutReaping(t *testing.T) {
	cases := []struct {
		script string
		want   int
	}{
		{script: "exit 0", want: 0},
		{script: "exit 7", want: 7},
		{script: "exit 255", want: 255},
		{script: "kill -9 $$", want: 128 + 9},
		{script: "kill -TERM $$", want: 128 + 15},
	}
	for _, tc := range cases {
		t.Run(tc.script, func(t *testing.T) {
			cmd := exec.Command("sh", "-c", tc.script)
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer cmd.Process.Release()
			pid := cmd.Process.Pid

			got, err := waitExit(pid)
			if err != nil {
				t.Fatalf("waitExit = %v", err)
			}
			if got != tc.want {
				t.Errorf("waitExit = %d, want %d", got, tc.want)
			}
			// Not reaped: the zombie still holds its pid.
			var info unix.Siginfo
			if err := unix.Waitid(unix.P_PID, pid, &info, unix.WEXITED|unix.WNOHANG|unix.WNOWAIT, nil); err != nil {
				t.Fatalf("after waitExit the child is gone (%v); want a zombie", err)
			}
			if again, err := waitExit(pid); err != nil || again != got {
				t.Errorf("second waitExit = %d, %v; want %d", again, err, got)
			}

			reap(pid)
			if err := unix.Waitid(unix.P_PID, pid, &info, unix.WEXITED|unix.WNOHANG, nil); !errors.Is(err, unix.ECHILD) {
				t.Errorf("after reap wait4 = %v, want ECHILD", err)
			}
		})
	}
}

func TestWaitExitOfANonChild(t *testing.T) {
	if _, err := waitExit(1); !errors.Is(err, unix.ECHILD) {
		t.Fatalf("waitExit(1) = %v, want ECHILD", err)
	}
}

// pipeWith returns the read end of a pipe holding data.
func pipeWith(t *testing.T, data string) *os.File {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(); w.Close() })
	if data != "" {
		if _, err := w.WriteString(data); err != nil {
			t.Fatal(err)
		}
	}
	return r
}

func TestUnread(t *testing.T) {
	cases := []struct {
		name  string
		pipes []string
		want  int
	}{
		{name: "none", want: 0},
		{name: "empty", pipes: []string{""}, want: 0},
		{name: "pending", pipes: []string{"hello"}, want: 5},
		{name: "summed", pipes: []string{"out\n", "", "error!"}, want: 10},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var files []*os.File
			for _, data := range tc.pipes {
				files = append(files, pipeWith(t, data))
			}
			if got := unread(files); got != tc.want {
				t.Errorf("unread = %d, want %d", got, tc.want)
			}
		})
	}
}

func TestLinger(t *testing.T) {
	t.Run("returns once the output is read", func(t *testing.T) {
		d, err := procdir.Path(t.TempDir(), "p1")
		if err != nil {
			t.Fatal(err)
		}
		if err := d.Create(os.Getuid(), os.Getgid()); err != nil {
			t.Fatal(err)
		}
		out := pipeWith(t, "unread")
		s := &stdio{outs: []*os.File{out}}
		done := make(chan struct{})
		go func() { s.linger(d); close(done) }()
		select {
		case <-done:
			t.Fatal("linger returned with output unread")
		case <-time.After(3 * lingerPoll):
		}
		if _, err := out.Read(make([]byte, 64)); err != nil {
			t.Fatal(err)
		}
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatal("linger still running after the output was read")
		}
	})
	t.Run("gives up when the dir is removed", func(t *testing.T) {
		d, err := procdir.Path(t.TempDir(), "gone")
		if err != nil {
			t.Fatal(err)
		}
		s := &stdio{outs: []*os.File{pipeWith(t, "never read")}}
		done := make(chan struct{})
		go func() { s.linger(d); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatal("linger still running with its process dir gone")
		}
	})
}

// A starter that exited 0 made what it starts (a pea's runtime
// container) even if its answer is unusable: Monitor then runs the
// cleanup, as no process directory will be left to find it by. One that
// failed made nothing (its id may be another container's): no cleanup.
func TestMonitorCleansUpOnlyWhatAStarterMade(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root (FIFO ownership)")
	}
	for _, tc := range []struct {
		name, starter string
		wantCleanup   bool
	}{
		{"made, printed pid 0", `cat >/dev/null; echo '{"pid":0}'`, true},
		{"failed", `cat >/dev/null; echo '{"error":{"type":"HandleInUse","message":"in use: HandleInUse"}}' >&2; exit 4`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tmp := t.TempDir()
			d := procdir.Dir(tmp + "/processes/p1")
			if err := d.Create(0, 0); err != nil {
				t.Fatal(err)
			}
			marker := tmp + "/cleaned"
			syncR, syncW, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			defer syncR.Close()
			_, err = Monitor(MonitorConfig{
				Starter: []string{"sh", "-c", tc.starter},
				Cleanup: []string{"touch", marker},
				Dir:     d,
				Spec:    preparedJSON(t, &specs.Process{Args: []string{"true"}}),
				Sync:    syncW,
				Log:     slog.New(slog.DiscardHandler),
			})
			if err == nil {
				t.Fatal("Monitor succeeded")
			}
			if _, err := ReadSync(syncR); err == nil {
				t.Error("the sync message reported a start")
			}
			_, statErr := os.Stat(marker)
			if cleaned := statErr == nil; cleaned != tc.wantCleanup {
				t.Errorf("cleanup ran = %v, want %v", cleaned, tc.wantCleanup)
			}
		})
	}
}

// TestOutputPipesAreLarge: the stdout and stderr FIFOs dadoo hands a
// process hold outPipeSize, so a chatty process runs ahead of a reader by
// that much.
func TestOutputPipesAreLarge(t *testing.T) {
	d, err := procdir.Path(t.TempDir(), "p1")
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Create(os.Getuid(), os.Getgid()); err != nil {
		t.Fatal(err)
	}
	s, err := openPlain(d)
	if err != nil {
		t.Fatal(err)
	}
	defer s.close()
	for _, f := range s.outs {
		size, err := unix.FcntlInt(f.Fd(), unix.F_GETPIPE_SZ, 0)
		if err != nil || size < outPipeSize {
			t.Errorf("%s: pipe size %d (%v), want %d", f.Name(), size, err, outPipeSize)
		}
	}
}

// TestExitsWithin: a child that exits in time is seen (and left for
// waitExit, not reaped); one that runs on is given up on after d.
func TestExitsWithin(t *testing.T) {
	quick := exec.Command("true")
	if err := quick.Start(); err != nil {
		t.Fatal(err)
	}
	defer quick.Process.Release()
	if !exitsWithin(quick.Process.Pid, 5*time.Second) {
		t.Error("a child that exited at once was not seen to exit")
	}
	if status, err := waitExit(quick.Process.Pid); err != nil || status != 0 {
		t.Errorf("waitExit after exitsWithin = %d, %v; want the unreaped child's 0", status, err)
	}
	reap(quick.Process.Pid)

	slow := exec.Command("sleep", "10")
	if err := slow.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = slow.Process.Kill(); _ = slow.Wait() }()
	start := time.Now()
	if exitsWithin(slow.Process.Pid, 50*time.Millisecond) {
		t.Error("a sleeping child was seen to exit")
	}
	if took := time.Since(start); took < 50*time.Millisecond {
		t.Errorf("gave up after %v, before the 50ms it was given", took)
	}
}
