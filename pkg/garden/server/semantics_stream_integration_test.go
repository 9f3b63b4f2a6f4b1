package server_test

import (
	"archive/tar"
	"bytes"
	"io"
	"strings"
	"testing"

	"github.com/gdn-dev/gdn/pkg/garden"
	"github.com/gdn-dev/gdn/pkg/garden/client"
)

// oneFile is a tar archive of one regular file.
func oneFile(t *testing.T, name, body string) *bytes.Buffer {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg}); err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(tw, body); err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return &b
}

// shell runs a shell command in c, failing the test unless it exits 0,
// and returns its output.
func shell(t *testing.T, c client.Container, script string) string {
	t.Helper()
	status, out, errOut := run(t, c, "", "/bin/sh", "-c", script)
	if status != 0 {
		t.Fatalf("%q: exit %d: %s%s", script, status, out, errOut)
	}
	return out
}

// A relative destination or source is relative to the user's home, where
// a process of that user starts (Guardian's default run directory), not
// to "/".
func TestStreamRelativePathsAreRelativeToTheHome(t *testing.T) {
	g := startGdn(t)
	c := g.create(garden.ContainerSpec{Handle: "rel"})

	if err := c.StreamIn(client.StreamInSpec{Path: "app", User: "vcap", TarStream: oneFile(t, "f", "vcap's")}); err != nil {
		t.Fatalf("stream in as vcap to app: %v", err)
	}
	if err := c.StreamIn(client.StreamInSpec{Path: "app", TarStream: oneFile(t, "f", "root's")}); err != nil {
		t.Fatalf("stream in as root to app: %v", err)
	}
	got := shell(t, c, "cat /home/vcap/app/f; echo; cat /root/app/f; echo; stat -c %u /home/vcap/app/f; [ ! -e /app ] && echo no-/app")
	if want := "vcap's\nroot's\n1000\nno-/app\n"; got != want {
		t.Fatalf("after stream-in to app as vcap and as root:\n%s\nwant\n%s", got, want)
	}

	rc, err := c.StreamOut(client.StreamOutSpec{Path: "app/f", User: "vcap"})
	if err != nil {
		t.Fatalf("stream out of app/f as vcap: %v", err)
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	hdr, err := tr.Next()
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(tr)
	if hdr.Name != "f" || string(body) != "vcap's" {
		t.Fatalf("stream out of app/f as vcap: %q %q, want f with vcap's", hdr.Name, body)
	}
}

// Container root streams in wherever container root can write, another
// user's 0755 home included (CAP_DAC_OVERRIDE inside the container), and
// a user only where that user can.
func TestStreamInAsContainerRoot(t *testing.T) {
	g := startGdn(t)
	c := g.create(garden.ContainerSpec{Handle: "asroot"})
	if got := shell(t, c, "stat -c '%u %a' /home/vcap"); got != "1000 755\n" {
		t.Fatalf("/home/vcap is %q, want 1000 755", got)
	}

	for _, user := range []string{"", "root"} {
		dest := "/home/vcap/by-root" + user
		if err := c.StreamIn(client.StreamInSpec{Path: dest, User: user, TarStream: oneFile(t, "f", "hi")}); err != nil {
			t.Fatalf("stream in as %q into vcap's home: %v", user, err)
		}
		if got := shell(t, c, "stat -c %u "+dest+" "+dest+"/f; cat "+dest+"/f"); got != "0\n0\nhi" {
			t.Fatalf("as %q: %q, want the directory and file owned by root", user, got)
		}
	}
	// Into a directory of vcap's that only vcap may even read.
	shell(t, c, "mkdir -m 0700 /home/vcap/private && chown 1000:1000 /home/vcap/private")
	if err := c.StreamIn(client.StreamInSpec{Path: "/home/vcap/private", TarStream: oneFile(t, "f", "x")}); err != nil {
		t.Fatalf("stream in as root into vcap's 0700 directory: %v", err)
	}

	// A user gets its own permissions only.
	err := c.StreamIn(client.StreamInSpec{Path: "/etc", User: "vcap", TarStream: oneFile(t, "vcap-was-here", "x")})
	if err == nil {
		t.Fatal("vcap streamed into /etc")
	}
	if shell(t, c, "[ -e /etc/vcap-was-here ] && echo there || true") != "" {
		t.Fatal("/etc/vcap-was-here was created")
	}

	// Root's reach is the container: an entry climbing out is refused.
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	_ = tw.WriteHeader(&tar.Header{Name: "../../../gdn-climbed", Mode: 0o644, Typeflag: tar.TypeReg})
	_ = tw.Close()
	err = c.StreamIn(client.StreamInSpec{Path: "/tmp/a/b", TarStream: &b})
	if err == nil || !strings.Contains(err.Error(), "leaves the directory") {
		t.Fatalf("climbing entry: %v, want a refusal", err)
	}
	if shell(t, c, "[ -e /gdn-climbed ] && echo there || true") != "" {
		t.Fatal("/gdn-climbed was created")
	}
}

// Errors read as Guardian's: "error streaming in: …", a permission
// failure in the words a tar in the container prints, an unknown user
// by name.
func TestStreamErrorsReadAsTheReference(t *testing.T) {
	g := startGdn(t)
	c := g.create(garden.ContainerSpec{Handle: "errs"})

	err := c.StreamIn(client.StreamInSpec{Path: "/etc", User: "vcap", TarStream: oneFile(t, "f", "x")})
	if err == nil || !strings.HasPrefix(err.Error(), "error streaming in: ") || !strings.Contains(err.Error(), "Permission denied") {
		t.Fatalf("stream in as vcap to /etc: %v, want error streaming in: … Permission denied", err)
	}
	err = c.StreamIn(client.StreamInSpec{Path: "/tmp", User: "nosuchuser", TarStream: oneFile(t, "f", "x")})
	if err == nil || !strings.HasPrefix(err.Error(), "error streaming in: ") || !strings.Contains(err.Error(), "nosuchuser") {
		t.Fatalf("stream in as an unknown user: %v, want error streaming in: naming the user", err)
	}
	rc, err := c.StreamOut(client.StreamOutSpec{Path: "/tmp", User: "nosuchuser"})
	if err == nil {
		rc.Close()
		t.Fatal("stream out as an unknown user succeeded")
	}
	if !strings.HasPrefix(err.Error(), "error streaming out: ") || !strings.Contains(err.Error(), "nosuchuser") {
		t.Fatalf("stream out as an unknown user: %v, want error streaming out: naming the user", err)
	}
}
