package rootfs

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gdn-dev/gdn/pkg/errkind"
)

// fakeFetchProgram writes a script that records its arguments and the
// password it was given, then runs body; a stand-in for gdn-rootfs-fetch
// in a test of ExecFetcher's side of the contract only (bats/image.bats
// runs the real one against a registry).
func fakeFetchProgram(t *testing.T, body string) (program, argsFile string) {
	t.Helper()
	dir := t.TempDir()
	argsFile = filepath.Join(dir, "args")
	program = filepath.Join(dir, "fetch")
	script := "#!/bin/sh\necho \"$@\" >" + argsFile + "\necho \"password=$" + PasswordEnv + "\" >>" + argsFile + "\n" + body + "\n"
	if err := os.WriteFile(program, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return program, argsFile
}

func TestExecFetcherPassesTheSourceAndKeepsThePasswordOffTheCommandLine(t *testing.T) {
	program, argsFile := fakeFetchProgram(t, `echo '{"layers":["abc"],"env":["A=1"],"volumes":[],"size":7}'`)
	s := &Store{dir: "/store"}
	src, err := ParseURI("docker://127.0.0.1:5000/busybox:latest")
	if err != nil {
		t.Fatal(err)
	}
	rec, err := s.ExecFetcher(program)(context.Background(), src, PullOptions{Username: "u", Password: "s3cret", Insecure: []string{"127.0.0.1:5000"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(rec.Layers) != 1 || rec.Layers[0] != "abc" || rec.Size != 7 || rec.Env[0] != "A=1" {
		t.Errorf("record %+v", rec)
	}
	got, _ := os.ReadFile(argsFile)
	lines := strings.Split(strings.TrimSpace(string(got)), "\n")
	want := "--store /store --username u --insecure-registry 127.0.0.1:5000 " + src.URI()
	if lines[0] != want {
		t.Errorf("arguments %q, want %q", lines[0], want)
	}
	if strings.Contains(lines[0], "s3cret") || lines[1] != "password=s3cret" {
		t.Errorf("the password went %q, want only the environment", got)
	}
}

func TestExecFetcherKeepsTheKindOfTheProgramsError(t *testing.T) {
	program, _ := fakeFetchProgram(t, `echo '{"error":{"type":"ImageNotFound","message":"image \"x\": gone: ImageNotFound"}}' >&2; exit 3`)
	s := &Store{dir: "/store"}
	_, err := s.ExecFetcher(program)(context.Background(), Source{Kind: Tarball, Path: "/x.tar"}, PullOptions{})
	if errkind.Of(err) != errkind.ImageNotFound || !strings.Contains(err.Error(), "gone") {
		t.Errorf("error %v (kind %v), want the program's ImageNotFound", err, errkind.Of(err))
	}
	if _, err := s.ExecFetcher(filepath.Join(t.TempDir(), "missing"))(context.Background(), Source{Kind: Tarball, Path: "/x.tar"}, PullOptions{}); err == nil {
		t.Error("a missing program was no error")
	}
}
