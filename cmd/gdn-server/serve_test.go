package main

import (
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/gdn-dev/gdn/pkg/cli"
	"github.com/gdn-dev/gdn/pkg/network/link"
	"github.com/gdn-dev/gdn/pkg/testutil"
)

// A debug address that cannot be bound stops the start with an error that
// names it, before the server does any work.
func TestDebugListenerThatCannotBindFailsStart(t *testing.T) {
	testutil.RequireRoot(t)
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	port := busy.Addr().(*net.TCPAddr).Port
	dir := t.TempDir()
	root := newRootCmd()
	// cli.Execute prints the error on the process's stderr.
	errFile, err := os.Create(filepath.Join(dir, "stderr"))
	if err != nil {
		t.Fatal(err)
	}
	saved := os.Stderr
	os.Stderr = errFile
	defer func() { os.Stderr = saved }()
	root.SetArgs([]string{"--tag", "dbgbind", "--depot", filepath.Join(dir, "depot"), "--store", filepath.Join(dir, "store"),
		"--bind-socket", filepath.Join(dir, "garden.sock"), "--init-bin", filepath.Join(dir, "gdn-init"),
		"--log-file", filepath.Join(dir, "server.log"),
		"--debug-bind-ip", "127.0.0.1", "--debug-bind-port", strconv.Itoa(port)})
	if code := cli.Execute(root); code != cli.ExitUsage {
		t.Errorf("exit %d, want %d (usage)", code, cli.ExitUsage)
	}
	os.Stderr = saved
	b, _ := os.ReadFile(errFile.Name())
	msg := string(b)
	if !strings.Contains(msg, "debug server") || !strings.Contains(msg, "127.0.0.1:"+strconv.Itoa(port)) ||
		!strings.Contains(msg, "address already in use") {
		t.Errorf("error %q: want the debug server, its address and the cause", msg)
	}
}

func TestImageFlags(t *testing.T) {
	for _, c := range []struct {
		name              string
		o                 options
		initArgs, creArgs []string
		wantErr           bool
	}{
		{"none", options{}, nil, []string{"--without-mount"}, false},
		{"rootfs on host", options{rootfsOnHost: true}, nil, nil, false},
		{"size", options{storeSize: "50G", rootfsOnHost: true}, []string{"--store-size-bytes", "53687091200"}, nil, false},
		{"bytes", options{storeSize: "1000000000", rootfsOnHost: true}, []string{"--store-size-bytes", "1000000000"}, nil, false},
		{"registries", options{insecureRegistries: []string{"127.0.0.1:5000", "registry.local", "[::1]:5000"}}, nil,
			[]string{"--insecure-registry", "127.0.0.1:5000", "--insecure-registry", "registry.local", "--insecure-registry", "[::1]:5000", "--without-mount"}, false},
		{"zero size", options{storeSize: "0"}, nil, nil, true},
		{"bad size", options{storeSize: "lots"}, nil, nil, true},
		{"scheme", options{insecureRegistries: []string{"http://127.0.0.1:5000"}}, nil, nil, true},
		{"bad port", options{insecureRegistries: []string{"127.0.0.1:99999"}}, nil, nil, true},
		{"empty", options{insecureRegistries: []string{""}}, nil, nil, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			initArgs, creArgs, err := c.o.imageFlags()
			if (err != nil) != c.wantErr || cli.ExitCode(err) != map[bool]int{true: cli.ExitUsage, false: 0}[c.wantErr] {
				t.Fatalf("err %v, want error %v (usage)", err, c.wantErr)
			}
			if !slices.Equal(initArgs, c.initArgs) || !slices.Equal(creArgs, c.creArgs) {
				t.Errorf("init %q create %q, want %q %q", initArgs, creArgs, c.initArgs, c.creArgs)
			}
		})
	}
}

// The external IP is detected once, at the start, and handed to every
// gdn-net call, so that no up lists the host's routes; one that is given
// is passed as it is.
func TestExternalIPGoesToGdnNet(t *testing.T) {
	want, err := link.ExternalIP()
	if err != nil {
		t.Skipf("no default route here to detect an external IP by: %v", err)
	}
	for _, c := range []struct {
		name, given, want string
	}{
		{"detected", "", want.String()},
		{"given", "192.0.2.7", "192.0.2.7"},
	} {
		t.Run(c.name, func(t *testing.T) {
			o := &options{depot: t.TempDir(), externalIP: c.given, networkPool: "10.254.0.0/22"}
			cfg, err := gardenerConfig(o, slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatal(err)
			}
			i := slices.Index(cfg.Net.Args, "--external-ip")
			if i < 0 || i+1 >= len(cfg.Net.Args) || cfg.Net.Args[i+1] != c.want {
				t.Errorf("gdn-net args %q: want --external-ip %s", cfg.Net.Args, c.want)
			}
		})
	}
}
