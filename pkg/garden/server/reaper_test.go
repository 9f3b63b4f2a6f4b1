package server

import (
	"sync"
	"testing"
	"time"
)

// reaped records which handles a reaper destroyed.
type reaped struct {
	mu sync.Mutex
	hs []string
}

func (r *reaped) destroy(h string) { r.mu.Lock(); r.hs = append(r.hs, h); r.mu.Unlock() }
func (r *reaped) got() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.hs...)
}

// waitFor polls until n handles were reaped, for up to 5 s.
func (r *reaped) waitFor(t *testing.T, n int) []string {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if got := r.got(); len(got) >= n {
			return got
		}
	}
	return r.got()
}

func TestReaperFiresAfterTheGraceTime(t *testing.T) {
	var r reaped
	rp := newReaper(r.destroy)
	rp.arm("a", 50*time.Millisecond)
	rp.arm("never", 0)
	if got := r.waitFor(t, 1); len(got) != 1 || got[0] != "a" {
		t.Fatalf("reaped %v, want [a]", got)
	}
}

func TestReaperPauseHoldsAndResumeRestartsTheCountdown(t *testing.T) {
	var r reaped
	rp := newReaper(r.destroy)
	rp.arm("a", time.Second)
	resume1 := rp.pause("a")
	resume2 := rp.pause("a") // nested: a Run and an Info at once
	time.Sleep(1500 * time.Millisecond)
	resume1()
	resume1() // idempotent
	time.Sleep(1500 * time.Millisecond)
	if got := r.got(); len(got) != 0 {
		t.Fatalf("reaped %v while a request was still running", got)
	}
	start := time.Now()
	resume2()
	got := r.waitFor(t, 1)
	if len(got) != 1 || time.Since(start) < time.Second {
		t.Fatalf("reaped %v after %v; want a, a full second after the last resume", got, time.Since(start))
	}
}

func TestReaperRearmAndRemove(t *testing.T) {
	var r reaped
	rp := newReaper(r.destroy)
	rp.arm("a", 50*time.Millisecond)
	rp.arm("a", 0) // PUT grace_time 0: never
	rp.arm("b", 50*time.Millisecond)
	rp.remove("b") // destroyed by the API meanwhile
	time.Sleep(300 * time.Millisecond)
	if got := r.got(); len(got) != 0 {
		t.Fatalf("reaped %v", got)
	}
}
