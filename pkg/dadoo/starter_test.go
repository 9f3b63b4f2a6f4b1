package dadoo

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/gdn-dev/gdn/pkg/cli"
	"github.com/gdn-dev/gdn/pkg/errkind"
	"github.com/gdn-dev/gdn/pkg/procdir"
)

func TestStarterError(t *testing.T) {
	runErr := errors.New("exit status 1")
	// cliError is the stderr of a starter that failed with err: a log
	// line, then pkg/cli's error JSON.
	cliError := func(err error) string {
		var buf bytes.Buffer
		buf.WriteString("time=... level=INFO msg=\"starting\"\n")
		cli.WriteError(&buf, "gdn-run", err)
		return buf.String()
	}
	cases := []struct {
		name     string
		stderr   string
		wantKind errkind.Kind
		wantMsg  string // exact, or with wantSub a substring
		wantSub  bool
	}{
		{
			name:     "kind kept, named once",
			stderr:   cliError(fmt.Errorf("exec %q: no such file: %w", "/bin/nope", errkind.ExecutableNotFound)),
			wantKind: errkind.ExecutableNotFound,
			wantMsg:  `exec "/bin/nope": no such file: ExecutableNotFound`,
		},
		{
			name:     "hand-written error line",
			stderr:   `{"error":{"type":"ExecutableNotFound","message":"exec: \"x\": executable file not found in $PATH: ExecutableNotFound"}}`,
			wantKind: errkind.ExecutableNotFound,
			wantMsg:  `exec: "x": executable file not found in $PATH: ExecutableNotFound`,
		},
		{
			name:    "internal error has no kind",
			stderr:  cliError(errors.New("runc exploded")),
			wantMsg: "runc exploded",
		},
		{
			name:    "raw text",
			stderr:  "panic: something\n\ngoroutine 1 [running]:\n",
			wantMsg: "panic: something",
			wantSub: true,
		},
		{
			name:    "error JSON without a message",
			stderr:  `{"error":{"type":"InvalidSpec","message":""}}`,
			wantMsg: `{"error"`,
			wantSub: true,
		},
		{
			name:    "nothing at all",
			stderr:  "",
			wantMsg: "start process",
			wantSub: true,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := starterError(runErr, []byte(tc.stderr))
			if err == nil {
				t.Fatal("starterError = nil")
			}
			if got := errkind.Of(err); got != tc.wantKind {
				t.Errorf("kind = %q, want %q (error %q)", got, tc.wantKind, err)
			}
			if tc.wantSub {
				if !strings.Contains(err.Error(), tc.wantMsg) {
					t.Errorf("message = %q, want it to contain %q", err, tc.wantMsg)
				}
				return
			}
			if err.Error() != tc.wantMsg {
				t.Errorf("message = %q, want %q", err, tc.wantMsg)
			}
		})
	}
}

func TestRunStarter(t *testing.T) {
	cases := []struct {
		name     string
		script   string
		wantPid  int
		wantKind errkind.Kind
		wantErr  string
	}{
		{name: "prints the pid", script: `cat >/dev/null; echo '{"pid":4321}'`, wantPid: 4321},
		{name: "prints no pid", script: `echo '{}'`, wantErr: "printed no pid"},
		{name: "prints garbage", script: `echo started`, wantErr: "printed no pid"},
		{
			name:     "fails with a kind",
			script:   `echo '{"error":{"type":"InvalidSpec","message":"bad user: InvalidSpec"}}' >&2; exit 5`,
			wantKind: errkind.InvalidSpec,
			wantErr:  "bad user: InvalidSpec",
		},
		{name: "fails with text", script: `echo oops >&2; exit 1`, wantErr: "oops"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pid, made, err := runStarter([]string{"sh", "-c", tc.script}, []byte(`{"process":{}}`), nil)
			// Whatever it printed, a starter that exited 0 made something.
			if made != (tc.wantKind == "" && !strings.Contains(tc.name, "fails")) {
				t.Errorf("succeeded = %v", made)
			}
			if tc.wantErr == "" {
				if err != nil || pid != tc.wantPid {
					t.Fatalf("runStarter = %d, %v; want %d", pid, err, tc.wantPid)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("runStarter = %d, %v; want an error containing %q", pid, err, tc.wantErr)
			}
			if got := errkind.Of(err); got != tc.wantKind {
				t.Errorf("kind = %q, want %q", got, tc.wantKind)
			}
		})
	}
}

func TestRunStarterGetsSpecAndFiles(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	// The spec arrives on stdin; the first file is fd 3.
	script := `cat >&3; echo '{"pid":1}'`
	if _, _, err := runStarter([]string{"sh", "-c", script}, []byte("the spec"), []*os.File{w}); err != nil {
		t.Fatal(err)
	}
	w.Close()
	got, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != "the spec" {
		t.Errorf("fd 3 got %q, want the spec from stdin", got)
	}
}

func TestRunStarterWithoutArgv(t *testing.T) {
	if _, _, err := runStarter(nil, nil, nil); err == nil {
		t.Fatal("runStarter(nil) = nil error")
	}
}

func TestCommandLines(t *testing.T) {
	const (
		starter = "/usr/bin/gdn-run"
		rt      = "/run/gdn/runtime"
		h       = "c1"
		dir     = procdir.Dir("/depot/c1/processes/p1")
	)
	cases := []struct {
		name        string
		pea         string
		wantArgs    []string
		wantStarter []string
		wantCleanup []string
	}{
		{
			name:        "process",
			wantArgs:    []string{"-starter", starter, "-runtime-root", rt, "exec", h, string(dir)},
			wantStarter: []string{starter, "--runtime-root", rt, "start-process", h},
		},
		{
			name:        "pea",
			pea:         "pea-1",
			wantArgs:    []string{"-starter", starter, "-runtime-root", rt, "-pea", "pea-1", "exec", h, string(dir)},
			wantStarter: []string{starter, "--runtime-root", rt, "start-pea", "pea-1", string(dir)},
			wantCleanup: []string{starter, "--runtime-root", rt, "delete", "pea-1"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := Args(starter, rt, h, dir, tc.pea); !reflect.DeepEqual(got, tc.wantArgs) {
				t.Errorf("Args = %q, want %q", got, tc.wantArgs)
			}
			if got := StarterArgv(starter, rt, h, dir, tc.pea); !reflect.DeepEqual(got, tc.wantStarter) {
				t.Errorf("StarterArgv = %q, want %q", got, tc.wantStarter)
			}
			if got := CleanupArgv(starter, rt, tc.pea); !reflect.DeepEqual(got, tc.wantCleanup) {
				t.Errorf("CleanupArgv = %q, want %q", got, tc.wantCleanup)
			}
		})
	}
}
