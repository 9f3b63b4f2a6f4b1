package leakcheck

import "testing"

// AssertClean fails t, listing each leftover, unless inst has none; a part
// that cannot be read fails it too.
func AssertClean(t testing.TB, inst Instance) {
	t.Helper()
	leaks, err := inst.Check()
	for _, l := range leaks {
		t.Errorf("leaked %s", l)
	}
	if err != nil {
		t.Errorf("leak check: %v", err)
	}
}
