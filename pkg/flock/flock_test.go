package flock

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
)

// A second claimant, another process, is refused at once and told who
// holds the lock; once the holder lets go, the claim succeeds.
func TestClaimNamesTheHolder(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.lock")
	if os.Getenv("FLOCK_CHILD") == "1" {
		_, err := Claim(os.Getenv("FLOCK_PATH"))
		var held *HeldError
		if !errors.As(err, &held) {
			os.Stdout.WriteString("not refused")
			os.Exit(1)
		}
		os.Stdout.WriteString(held.Holder)
		os.Exit(0)
	}
	l, err := Claim(path)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestClaimNamesTheHolder$")
	cmd.Env = append(os.Environ(), "FLOCK_CHILD=1", "FLOCK_PATH="+path)
	out, err := cmd.Output()
	if err != nil || string(out) != strconv.Itoa(os.Getpid()) {
		t.Fatalf("second claim: %v, holder %q, want %d", err, out, os.Getpid())
	}
	if err := l.Release(); err != nil {
		t.Fatal(err)
	}
	l2, err := Claim(path)
	if err != nil {
		t.Fatalf("claim after release: %v", err)
	}
	l2.Release()
}
