package procdir

import (
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gdn-dev/gdn/pkg/errkind"
	"github.com/gdn-dev/gdn/pkg/testutil"
	"golang.org/x/sys/unix"
)

// quiet is how long a call that must block is watched before the test
// decides it blocks; long enough for the call to have reached its read.
const quiet = 200 * time.Millisecond

// patience bounds how long the test waits for a call that must return.
const patience = 5 * time.Second

// openEnd opens one end of a FIFO without blocking, as dadoo and the
// process do, and closes it when the test ends.
func openEnd(t *testing.T, path string, flags int) *os.File {
	t.Helper()
	fd, err := unix.Open(path, flags|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	f := os.NewFile(uintptr(fd), path)
	t.Cleanup(func() { f.Close() })
	return f
}

// receive waits for one value from ch, failing the test after patience.
func receive[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(patience):
		t.Fatalf("%s did not return within %v", what, patience)
		panic("unreachable")
	}
}

// blocks fails the test if ch yields within quiet.
func blocks[T any](t *testing.T, ch <-chan T, what string) {
	t.Helper()
	select {
	case v := <-ch:
		t.Fatalf("%s returned %v; want it to block", what, v)
	case <-time.After(quiet):
	}
}

type waitResult struct {
	status int
	err    error
}

func startWait(ctx context.Context, d Dir) <-chan waitResult {
	ch := make(chan waitResult, 1)
	go func() {
		status, err := d.Wait(ctx)
		ch <- waitResult{status, err}
	}()
	return ch
}

func TestWaitReturnsARecordedStatusAtOnce(t *testing.T) {
	d := created(t)
	// dadoo's end of exit stays open: only the exit code may end Wait.
	openEnd(t, d.File(Exit), unix.O_RDWR)
	if err := d.WriteExitCode(9); err != nil {
		t.Fatal(err)
	}
	r := receive(t, startWait(context.Background(), d), "Wait")
	if r.err != nil || r.status != 9 {
		t.Fatalf("Wait = %d, %v; want 9", r.status, r.err)
	}
}

func TestWaitBlocksUntilDadooRecordsAndCloses(t *testing.T) {
	d := created(t)
	exit := openEnd(t, d.File(Exit), unix.O_RDWR) // dadoo, while the process runs
	done := startWait(context.Background(), d)
	blocks(t, done, "Wait")

	// dadoo: the process exited; record its status, then let go of exit.
	go func() {
		if err := d.WriteExitCode(3); err != nil {
			t.Error(err)
		}
		exit.Close()
	}()
	r := receive(t, done, "Wait")
	if r.err != nil || r.status != 3 {
		t.Fatalf("Wait = %d, %v; want 3", r.status, r.err)
	}
}

func TestWaitWithoutExitCode(t *testing.T) {
	cases := []struct {
		name string
		// dadoo holds exit, then dies without writing the exit code.
		held bool
	}{
		{name: "dadoo died while waited for", held: true},
		{name: "dadoo gone before the wait"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := created(t)
			var exit *os.File
			if tc.held {
				exit = openEnd(t, d.File(Exit), unix.O_RDWR)
			}
			done := startWait(context.Background(), d)
			if tc.held {
				blocks(t, done, "Wait")
				exit.Close()
			}
			r := receive(t, done, "Wait")
			if r.err == nil || !strings.Contains(r.err.Error(), "dadoo") {
				t.Fatalf("Wait = %d, %v; want an error naming dadoo", r.status, r.err)
			}
			if !strings.Contains(r.err.Error(), d.File(DadooLog)) {
				t.Errorf("error %q does not point at %s", r.err, d.File(DadooLog))
			}
		})
	}
}

func TestWaitEndsWithItsContext(t *testing.T) {
	d := created(t)
	openEnd(t, d.File(Exit), unix.O_RDWR)
	ctx, cancel := context.WithCancel(context.Background())
	done := startWait(ctx, d)
	blocks(t, done, "Wait")
	cancel()
	r := receive(t, done, "Wait")
	if !errors.Is(r.err, context.Canceled) {
		t.Fatalf("Wait = %d, %v; want context.Canceled", r.status, r.err)
	}
}

func TestMissingProcessIsProcessNotFound(t *testing.T) {
	d := newDir(t) // never created
	calls := []struct {
		name string
		call func() error
	}{
		{"Attach", func() error { return d.Attach(context.Background(), Streams{}) }},
		{"Wait", func() error { _, err := d.Wait(context.Background()); return err }},
		{"Signal", func() error { return d.Signal(unix.SIGTERM) }},
	}
	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) {
			if err := c.call(); errkind.Of(err) != errkind.ProcessNotFound {
				t.Fatalf("%s = %v, want ProcessNotFound", c.name, err)
			}
		})
	}
}

func startAttach(ctx context.Context, d Dir, s Streams) <-chan error {
	ch := make(chan error, 1)
	go func() { ch <- d.Attach(ctx, s) }()
	return ch
}

func TestAttachCopiesOutputUntilEveryWriterCloses(t *testing.T) {
	d := created(t)
	// dadoo's read-write ends, which also stand in for the process.
	stdout := openEnd(t, d.File(Stdout), unix.O_RDWR)
	stderr := openEnd(t, d.File(Stderr), unix.O_RDWR)
	// Output written before anyone attached waits in the FIFOs.
	write(t, stdout, "early out, ")
	write(t, stderr, "early err, ")

	var out, errOut testutil.SyncBuffer
	attached := make(chan struct{})
	done := startAttach(context.Background(), d, Streams{
		Stdout:   &out,
		Stderr:   &errOut,
		Attached: func() { close(attached) },
	})
	receive(t, attached, "Attached")
	write(t, stdout, "late out")
	write(t, stderr, "late err")
	blocks(t, done, "Attach with writers left")

	stdout.Close()
	stderr.Close()
	if err := receive(t, done, "Attach"); err != nil {
		t.Fatalf("Attach = %v", err)
	}
	if got, want := out.String(), "early out, late out"; got != want {
		t.Errorf("stdout = %q, want %q", got, want)
	}
	if got, want := errOut.String(), "early err, late err"; got != want {
		t.Errorf("stderr = %q, want %q", got, want)
	}
}

func write(t *testing.T, f *os.File, s string) {
	t.Helper()
	if _, err := io.WriteString(f, s); err != nil {
		t.Fatal(err)
	}
}

func TestAttachFeedsStdin(t *testing.T) {
	d := created(t)
	stdout := openEnd(t, d.File(Stdout), unix.O_RDWR)
	stderr := openEnd(t, d.File(Stderr), unix.O_RDWR)
	// The process's stdin.
	stdin := openEnd(t, d.File(Stdin), unix.O_RDONLY)

	calls := 0
	attached := make(chan struct{})
	done := startAttach(context.Background(), d, Streams{
		Stdin: strings.NewReader("typed input\n"),
		Attached: func() {
			calls++
			close(attached)
		},
	})
	receive(t, attached, "Attached")

	// The client's stdin reaches EOF, so Attach closes its writer and
	// the process sees EOF too.
	if err := stdin.SetReadDeadline(time.Now().Add(patience)); err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(stdin)
	if err != nil {
		t.Fatalf("read stdin: %v", err)
	}
	if string(got) != "typed input\n" {
		t.Errorf("process read %q from stdin, want %q", got, "typed input\n")
	}

	stdout.Close()
	stderr.Close()
	if err := receive(t, done, "Attach"); err != nil {
		t.Fatalf("Attach = %v", err)
	}
	if calls != 1 {
		t.Errorf("Attached called %d times, want 1", calls)
	}
}

func TestAttachToAnEndedProcessReturnsAtOnce(t *testing.T) {
	// Nobody holds any FIFO: the process and its dadoo are gone. Stdin
	// has no reader, which is not an error.
	d := created(t)
	attached := false
	done := startAttach(context.Background(), d, Streams{
		Stdin:    strings.NewReader("ignored"),
		Attached: func() { attached = true },
	})
	if err := receive(t, done, "Attach"); err != nil {
		t.Fatalf("Attach = %v", err)
	}
	if !attached {
		t.Error("Attached was not called")
	}
}

func TestAttachEndsWithItsContext(t *testing.T) {
	d := created(t)
	openEnd(t, d.File(Stdout), unix.O_RDWR)
	openEnd(t, d.File(Stderr), unix.O_RDWR)
	ctx, cancel := context.WithCancel(context.Background())
	done := startAttach(ctx, d, Streams{})
	blocks(t, done, "Attach")
	cancel()
	if err := receive(t, done, "Attach"); !errors.Is(err, context.Canceled) {
		t.Fatalf("Attach = %v, want context.Canceled", err)
	}
}

// startSleep starts a real process to signal; it is killed and reaped
// when the test ends. exited yields its wait status once it ends.
func startSleep(t *testing.T) (pid int, exited <-chan syscall.WaitStatus) {
	t.Helper()
	cmd := exec.Command("sleep", "100")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ch := make(chan syscall.WaitStatus, 1)
	reaped := make(chan struct{})
	go func() {
		defer close(reaped)
		_ = cmd.Wait()
		ch <- cmd.ProcessState.Sys().(syscall.WaitStatus)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-reaped
	})
	return cmd.Process.Pid, ch
}

func TestSignalReachesTheProcess(t *testing.T) {
	d := created(t)
	pid, exited := startSleep(t)
	if err := d.WritePid(Pidfile, pid); err != nil {
		t.Fatal(err)
	}
	if err := d.Signal(unix.SIGTERM); err != nil {
		t.Fatalf("Signal = %v", err)
	}
	ws := receive(t, exited, "sleep after SIGTERM")
	if !ws.Signaled() || ws.Signal() != syscall.SIGTERM {
		t.Fatalf("sleep ended with %v, want killed by SIGTERM", ws)
	}
}

func TestSignalAfterExitDoesNothing(t *testing.T) {
	d := created(t)
	// The pid in pidfile is alive (as a reused pid would be), but the
	// exit code says the process is over.
	pid, exited := startSleep(t)
	if err := d.WritePid(Pidfile, pid); err != nil {
		t.Fatal(err)
	}
	if err := d.WriteExitCode(0); err != nil {
		t.Fatal(err)
	}
	if err := d.Signal(unix.SIGKILL); err != nil {
		t.Fatalf("Signal = %v, want nil", err)
	}
	blocks(t, exited, "the pid's process")
}

func TestSignalOfAGonePid(t *testing.T) {
	d := created(t)
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	if err := d.WritePid(Pidfile, cmd.Process.Pid); err != nil {
		t.Fatal(err)
	}
	if err := d.Signal(unix.SIGTERM); err != nil {
		t.Fatalf("Signal = %v, want nil for a process that is gone", err)
	}
}

func TestSignalWithoutPidfile(t *testing.T) {
	d := created(t)
	err := d.Signal(unix.SIGTERM)
	if err == nil {
		t.Fatal("Signal without a pidfile = nil, want an error")
	}
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Signal = %v, want it to wrap fs.ErrNotExist", err)
	}
}

func TestSetWindowSize(t *testing.T) {
	t.Run("no terminal", func(t *testing.T) {
		d := created(t)
		if err := d.SetWindowSize(WindowSize{Columns: 100, Rows: 30}); err == nil {
			t.Fatal("SetWindowSize with nobody reading winsz = nil, want an error")
		}
	})
	t.Run("missing dir", func(t *testing.T) {
		if err := newDir(t).SetWindowSize(WindowSize{Columns: 100, Rows: 30}); err == nil {
			t.Fatal("SetWindowSize = nil, want an error")
		}
	})
	t.Run("one JSON object per call", func(t *testing.T) {
		d := created(t)
		winsz := openEnd(t, d.File(Winsz), unix.O_RDONLY) // dadoo
		if err := d.SetWindowSize(WindowSize{Columns: 132, Rows: 43}); err != nil {
			t.Fatalf("SetWindowSize = %v", err)
		}
		if err := winsz.SetReadDeadline(time.Now().Add(patience)); err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(winsz)
		if err != nil {
			t.Fatal(err)
		}
		if want := `{"columns":132,"rows":43}` + "\n"; string(got) != want {
			t.Errorf("winsz got %q, want %q", got, want)
		}
	})
}
