package pidfd

import (
	"os/exec"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// A running child is neither Exited nor waited out; once it is killed
// (and not yet reaped) both see it gone.
func TestExitedAndWait(t *testing.T) {
	cmd := exec.Command("sleep", "10")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	fd, ok, err := Open(cmd.Process.Pid)
	if err != nil || !ok {
		t.Fatalf("Open = %v, %v", ok, err)
	}
	defer fd.Close()
	if fd.Exited() {
		t.Error("a sleeping child is Exited")
	}
	if done, err := Wait([]FD{fd}, 20*time.Millisecond); done || err != nil {
		t.Errorf("Wait on a sleeping child = %v, %v; want false", done, err)
	}
	if err := fd.Signal(unix.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if done, err := Wait([]FD{fd}, 5*time.Second); !done || err != nil {
		t.Fatalf("Wait on a killed child = %v, %v; want true", done, err)
	}
	if !fd.Exited() {
		t.Error("a killed, unreaped child is not Exited")
	}
	_ = cmd.Wait()
	if err := fd.Signal(unix.SIGKILL); err != nil {
		t.Errorf("Signal to a reaped process = %v, want nil", err)
	}
}
