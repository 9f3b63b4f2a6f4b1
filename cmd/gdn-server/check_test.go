package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/gdn-dev/gdn/pkg/cli"
	"github.com/gdn-dev/gdn/pkg/testutil"
)

// checkOutput runs `gdn-server check args...` with stdout a buffer (not a
// terminal, so JSON) and returns what it printed and its exit status.
func checkOutput(t *testing.T, args ...string) ([]byte, int) {
	t.Helper()
	root := newRootCmd()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&bytes.Buffer{})
	root.SetArgs(append([]string{"check"}, args...))
	code := cli.Execute(root)
	return out.Bytes(), code
}

func TestCheckJSONAndExitStatus(t *testing.T) {
	testutil.RequireRoot(t)
	dir := testutil.WorkDir(t)
	initBin := filepath.Join(dir, "gdn-init")
	if err := os.WriteFile(initBin, []byte("#!/bin/true\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	base := []string{"--tag", "hcheck", "--depot", filepath.Join(dir, "depot"), "--init-bin", initBin}
	type report struct {
		Checks []struct {
			Name, Status, Detail, Fix string
			Blocker                   *bool
		}
		Blockers []string
	}
	for _, c := range []struct {
		name     string
		store    string
		code     int
		blockers []string
	}{
		{"ok", filepath.Join(dir, "store"), 0, []string{}},
		{"blocker", "/root/gdn-check-store", cli.ExitInternal, []string{"store dir"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			out, code := checkOutput(t, append(base, "--store", c.store)...)
			if code != c.code {
				t.Errorf("exit %d, want %d", code, c.code)
			}
			var r report
			if err := json.Unmarshal(out, &r); err != nil {
				t.Fatalf("not one JSON object: %v: %s", err, out)
			}
			if len(r.Checks) < 16 || r.Blockers == nil || len(r.Blockers) != len(c.blockers) ||
				(len(c.blockers) > 0 && r.Blockers[0] != c.blockers[0]) {
				t.Errorf("blockers %q (of %d checks), want %q", r.Blockers, len(r.Checks), c.blockers)
			}
			for _, ch := range r.Checks {
				if ch.Name == "" || (ch.Status != "ok" && ch.Status != "missing") || ch.Detail == "" || ch.Blocker == nil {
					t.Errorf("check %+v: want name, status ok|missing, detail, blocker", ch)
				}
			}
		})
	}
}
