package runtime

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gdn-dev/gdn/pkg/bundle"
	"github.com/moby/profiles/seccomp"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// socketProbe tries socket(2) for every address family 0..63 and prints
// "family:errno" for each (0 for a socket made).
const socketProbe = `#include <errno.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>
int main(void) {
	for (int f = 0; f < 64; f++) {
		int s = socket(f, SOCK_DGRAM, 0);
		printf("%d:%d\n", f, s < 0 ? errno : 0);
		if (s >= 0) close(s);
	}
	return 0;
}
`

// TestMergedSeccompRulesInTheKernel: a container with gdn's default
// filter (moby's profile, its runs of one-value rules merged) and one with
// moby's profile as it comes get the same answer from the kernel for
// socket(2) of every address family, and the filter is in force in both
// (AF_VSOCK is refused with EPERM, AF_INET is not).
func TestMergedSeccompRulesInTheKernel(t *testing.T) {
	f := newFixture(t)
	probe := filepath.Join(f.rootfs, "bin", "socketprobe")
	src := filepath.Join(f.dir, "socketprobe.c")
	if err := os.WriteFile(src, []byte(socketProbe), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("cc", "-static", "-o", probe, src).CombinedOutput(); err != nil {
		t.Fatalf("build the probe: %v: %s", err, out)
	}
	ctx := context.Background()
	results := map[string]string{}
	for _, variant := range []string{"merged", "moby"} {
		h := "rt-seccomp-" + variant
		b := f.bundle(t, h, bundle.Desired{}, f.init)
		if variant == "moby" {
			rewriteSeccomp(t, b)
		}
		if _, err := f.rt.Create(ctx, h, b); err != nil {
			t.Fatal(err)
		}
		status, out, err := f.exec(t, h, ExecSpec{Args: []string{"/bin/socketprobe"}})
		if err != nil || status != 0 {
			t.Fatalf("%s: probe: %d %v %s", variant, status, err, out)
		}
		results[variant] = out
	}
	if results["merged"] != results["moby"] {
		t.Errorf("the kernel answers differently:\nmerged: %s\nmoby:   %s", results["merged"], results["moby"])
	}
	lines := strings.Split(results["merged"], "\n")
	if lines[40] != "40:1" || lines[2] == "2:1" {
		t.Errorf("filter not in force: AF_VSOCK %q (want 40:1, EPERM), AF_INET %q", lines[40], lines[2])
	}
}

// rewriteSeccomp puts moby's default rules, as they come, in bundle b's
// filter, keeping its architectures.
func rewriteSeccomp(t *testing.T, b string) {
	t.Helper()
	path := filepath.Join(b, "config.json")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var spec specs.Spec
	if err := json.Unmarshal(data, &spec); err != nil {
		t.Fatal(err)
	}
	moby, err := seccomp.GetDefaultProfile(&spec)
	if err != nil {
		t.Fatal(err)
	}
	spec.Linux.Seccomp.Syscalls = moby.Syscalls
	data, _ = json.Marshal(&spec)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}
