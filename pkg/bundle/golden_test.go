package bundle

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gdn-dev/gdn/pkg/idmap"
	"github.com/opencontainers/runtime-spec/specs-go"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// TestGoldenConfig checks the whole config.json that DefaultRules produces
// for fixed inputs. Paths made by the test are replaced by placeholders, and
// the seccomp syscall list (which depends on the kernel version and the
// architecture) is reduced to its default action; TestSeccomp covers it.
// Run with -update after a deliberate change and review the diff.
func TestGoldenConfig(t *testing.T) {
	dir := t.TempDir()
	rootfs := filepath.Join(dir, "rootfs")
	data := filepath.Join(dir, "data")
	initBin := filepath.Join(dir, "gdn-init")
	for _, d := range []string{rootfs, data} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(initBin, nil, 0o755); err != nil {
		t.Fatal(err)
	}
	maximus := idmap.Mappings(4294967294)
	cfg := Config{
		InitPath:         initBin,
		UIDMappings:      maximus,
		GIDMappings:      maximus,
		HostCapabilities: []string{"CAP_CHOWN", "CAP_NET_ADMIN", "CAP_SYS_ADMIN", "CAP_BPF"},
		CgroupV1:         true,
		SwapAccounting:   true,
		NoNewPrivileges:  true,
		Nofile:           20000,
		MountFlags:       func(string) ([]string, error) { return []string{"nosuid"}, nil },
	}
	d := Desired{
		Handle:      "golden-container",
		Rootfs:      rootfs,
		ImageEnv:    []string{"PATH=/usr/bin:/bin"},
		ImageMounts: []specs.Mount{{Destination: "/var/cache", Type: "bind", Source: "/cache", Options: []string{"bind"}}},
		Env:         []string{"GREETING=hello"},
		BindMounts:  []BindMount{{Source: data, Destination: "/data", ReadOnly: true}},
		Limits:      Limits{MemoryBytes: 64 << 20, CPUShares: 512, PidsMax: 1000},
		Created:     time.Date(2025, 1, 2, 3, 4, 5, 6, time.UTC),
	}
	for _, privileged := range []bool{false, true} {
		name := map[bool]string{false: "unprivileged", true: "privileged"}[privileged]
		t.Run(name, func(t *testing.T) {
			d.Privileged = privileged
			spec, err := Generate(d, DefaultRules(cfg))
			if err != nil {
				t.Fatal(err)
			}
			if s := spec.Linux.Seccomp; s != nil {
				spec.Linux.Seccomp = &specs.LinuxSeccomp{DefaultAction: s.DefaultAction, DefaultErrnoRet: s.DefaultErrnoRet}
			}
			got, err := json.MarshalIndent(spec, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = []byte(strings.ReplaceAll(string(got), dir, "$TMP") + "\n")
			compareGolden(t, filepath.Join("testdata", name+".json"), got)
		})
	}
}

func compareGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs; got:\n%s", path, got)
	}
}
