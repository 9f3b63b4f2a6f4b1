package server_test

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gdn-dev/gdn/pkg/garden"
	"github.com/gdn-dev/gdn/pkg/testutil"
)

// testRegistry starts Debian's docker-registry on loopback (plain HTTP)
// with the busybox test image pushed as busybox:latest, and returns its
// HOST:PORT.
func testRegistry(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"docker-registry", "skopeo", "umoci"} {
		if _, err := exec.LookPath(p); err != nil {
			t.Skipf("skipping: no %s (scripts/install-deps)", p)
		}
	}
	dir := testutil.WorkDir(t)
	scripts := filepath.Join(testutil.RepoRoot(), "scripts")
	if out, err := exec.Command(filepath.Join(scripts, "mk-test-images"), filepath.Join(dir, "images")).CombinedOutput(); err != nil {
		t.Fatalf("mk-test-images: %v\n%s", err, out)
	}
	cmd := exec.Command(filepath.Join(scripts, "test-registry"), filepath.Join(dir, "reg"))
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, _ := bufio.NewReader(out).ReadString('\n')
	_ = cmd.Wait()
	fields := strings.Fields(line)
	if len(fields) != 2 {
		t.Fatalf("test-registry printed %q", line)
	}
	reg, pid := fields[0], fields[1]
	t.Cleanup(func() { _ = exec.Command("kill", pid).Run() })
	if out, err := exec.Command("skopeo", "copy", "-q", "--dest-tls-verify=false",
		"oci:"+filepath.Join(dir, "images", "oci")+":busybox", "docker://"+reg+"/busybox:latest").CombinedOutput(); err != nil {
		t.Fatalf("skopeo copy: %v\n%s", err, out)
	}
	return reg
}

// --insecure-docker-registry reaches gdn-rootfs create (the server starts:
// init-store is not given the flag) and a container comes from the
// plain-HTTP registry; --store-size-bytes sizes the loop-backed store.
func TestInsecureRegistryAndStoreSize(t *testing.T) {
	reg := testRegistry(t)
	g := startGdn(t, "--insecure-docker-registry", reg, "--insecure-docker-registry", "127.0.0.1:1", "--store-size-bytes", "3G")
	c := g.create(garden.ContainerSpec{Handle: "insecure1", Image: garden.ImageRef{URI: "docker://" + reg + "/busybox:latest"}})
	if status, out, _ := run(t, c, "", "/bin/sh", "-c", "echo $GDN_TEST"); status != 0 || out != "one\n" {
		t.Errorf("run in the registry's image: status %d, stdout %q", status, out)
	}
	if err := g.client.Destroy("insecure1"); err != nil {
		t.Fatal(err)
	}
	// The test harness names the store by GDN_STORE (dir/store); the
	// loop-backed store's sparse file is beside it.
	fi, err := os.Stat(filepath.Join(g.dir, "store") + ".backing.img")
	if err != nil {
		t.Fatalf("backing file: %v", err)
	}
	if fi.Size() != 3<<30 {
		t.Errorf("store backing file is %d bytes, want 3 GiB", fi.Size())
	}
}
