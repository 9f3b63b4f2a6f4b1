package crash

import (
	"errors"
	"os"
	"os/exec"
	"syscall"
	"testing"
)

func TestPointKillsOnlyAtTheNamedStep(t *testing.T) {
	if os.Getenv("CRASH_TEST_CHILD") == "1" {
		Point("tool.op.before")
		os.Stdout.WriteString("passed before\n")
		Point("tool.op.after")
		os.Stdout.WriteString("passed after\n")
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestPointKillsOnlyAtTheNamedStep$")
	log := t.TempDir() + "/reached"
	cmd.Env = append(os.Environ(), "CRASH_TEST_CHILD=1", Env+"=other, tool.op.after", LogEnv+"="+log)
	out, err := cmd.Output()
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		t.Fatalf("child: %v, want killed; output %q", err, out)
	}
	ws := ee.Sys().(syscall.WaitStatus)
	if !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("child ended with %v, want SIGKILL", ws)
	}
	if string(out) != "passed before\n" {
		t.Fatalf("child printed %q, want only the step before", out)
	}
	if reached, _ := os.ReadFile(log); string(reached) != "tool.op.after\n" {
		t.Fatalf("crash log %q, want the step it died at", reached)
	}
}

func TestUnsetIsInert(t *testing.T) {
	if at != nil && os.Getenv(Env) == "" {
		t.Fatal("armed without the variable")
	}
	if parse("") != nil || Armed("x") {
		t.Fatal("empty value armed a step")
	}
}
