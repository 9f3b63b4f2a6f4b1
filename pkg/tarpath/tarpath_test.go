package tarpath

import "testing"

func TestClean(t *testing.T) {
	for name, want := range map[string]string{"a/b": "a/b", "/a/b": "a/b", "./a/../b": "b", "a/": "a", "": ".", "/": ".", "..a": "..a", "a/..b": "a/..b"} {
		if got, ok := Clean(name); !ok || got != want {
			t.Errorf("Clean(%q) = %q, %v; want %q", name, got, ok, want)
		}
	}
	for _, bad := range []string{"..", "../a", "a/../../b", "/../x", "./../x"} {
		if got, ok := Clean(bad); ok {
			t.Errorf("Clean(%q) = %q, want refused", bad, got)
		}
	}
}
