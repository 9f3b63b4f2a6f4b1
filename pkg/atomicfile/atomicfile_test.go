package atomicfile

import (
	"os"
	"path/filepath"
	"testing"
)

// writers are the two ways to replace a file; they differ only in the
// fsyncs, which a test cannot see short of crashing the host.
var writers = map[string]func(string, []byte, os.FileMode) error{"WriteFile": WriteFile, "Replace": Replace}

func TestReplacesAndLeavesNoTemp(t *testing.T) {
	for name, write := range writers {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			p := filepath.Join(dir, "f.json")
			for _, content := range []string{"one", "two"} {
				if err := write(p, []byte(content), 0o600); err != nil {
					t.Fatal(err)
				}
				got, err := os.ReadFile(p)
				if err != nil || string(got) != content {
					t.Fatalf("read %q, %v; want %q", got, err, content)
				}
			}
			st, _ := os.Stat(p)
			if st.Mode().Perm() != 0o600 {
				t.Errorf("mode %v, want 0600", st.Mode().Perm())
			}
			entries, _ := os.ReadDir(dir)
			if len(entries) != 1 {
				t.Errorf("directory holds %d entries, want only the file", len(entries))
			}
		})
	}
}

func TestMissingDirFails(t *testing.T) {
	for name, write := range writers {
		if err := write(filepath.Join(t.TempDir(), "no", "f"), nil, 0o600); err == nil {
			t.Errorf("%s: want an error for a missing directory", name)
		}
	}
}
