package server_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/gdn-dev/gdn/pkg/garden"
	"github.com/gdn-dev/gdn/pkg/garden/client"
)

// runPea runs a pea (a process with an image of its own) to its end.
func runPea(t *testing.T, c client.Container, image string, limits *garden.ProcessLimits, script string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	p, err := c.Run(garden.ProcessSpec{Path: "/bin/sh", Args: []string{"-c", script}, Image: garden.ImageRef{URI: image},
		OverrideContainerLimits: limits}, client.ProcessIO{Stdout: &out, Stderr: &errb})
	if err != nil {
		t.Fatalf("run pea: %v", err)
	}
	status, err := p.Wait()
	if err != nil {
		t.Fatalf("wait pea: %v", err)
	}
	return status, out.String(), errb.String()
}

// Container root owns /etc/hosts and /etc/resolv.conf, as in the
// reference: it may add lines, and its peas, which bind-mount the very
// same files, see them and may add their own.
func TestEtcHostsAndResolvConfBelongToContainerRoot(t *testing.T) {
	g := startGdn(t)
	c := g.create(garden.ContainerSpec{Handle: "dns1"})
	info, err := c.Info()
	if err != nil {
		t.Fatal(err)
	}
	status, _, errout := run(t, c, "", "/bin/sh", "-c",
		"echo '10.1.2.3 added-by-container' >> /etc/hosts && echo 'nameserver 10.9.9.9' >> /etc/resolv.conf")
	if status != 0 {
		t.Fatalf("container root appending to /etc/hosts and /etc/resolv.conf: %d %s", status, errout)
	}
	status, out, errout := runPea(t, c, g.rootfs, nil,
		"cat /etc/hosts /etc/resolv.conf && echo '10.1.2.4 added-by-pea' >> /etc/hosts && echo 'search pea.example' >> /etc/resolv.conf")
	if status != 0 || !strings.Contains(out, "added-by-container") || !strings.Contains(out, "nameserver 10.9.9.9") {
		t.Fatalf("pea: status %d, saw %q, stderr %q; want the container's lines and room for its own", status, out, errout)
	}
	_, hosts, _ := run(t, c, "", "/bin/cat", "/etc/hosts")
	for _, want := range []string{"127.0.0.1 localhost\n", info.ContainerIP + " dns1\n", "10.1.2.3 added-by-container\n", "10.1.2.4 added-by-pea\n"} {
		if !strings.Contains(hosts, want) {
			t.Errorf("/etc/hosts lacks %q:\n%s", want, hosts)
		}
	}
	if _, resolv, _ := run(t, c, "", "/bin/cat", "/etc/resolv.conf"); !strings.Contains(resolv, "nameserver 10.9.9.9\nsearch pea.example\n") {
		t.Errorf("/etc/resolv.conf lacks the container's and the pea's lines:\n%s", resolv)
	}
	// Other users read them, but only root writes them.
	var errb bytes.Buffer
	p, err := c.Run(garden.ProcessSpec{User: "vcap", Path: "/bin/sh", Args: []string{"-c", "cat /etc/hosts >/dev/null && echo x >> /etc/hosts"}},
		client.ProcessIO{Stderr: &errb})
	if err != nil {
		t.Fatal(err)
	}
	if status, err := p.Wait(); err != nil || status == 0 || !strings.Contains(errb.String(), "Permission denied") {
		t.Errorf("vcap writing /etc/hosts: status %d, %v, %q; want read allowed, write denied", status, err, errb.String())
	}
}

// /dev/shm is a tmpfs of no size of its own, as in the reference: the
// memory limit of whoever writes it bounds it. Without a memory limit 80
// MiB fit; a pea with empty override limits is not held to its
// container's limit; the container's own processes are.
func TestDevShmIsBoundedByTheMemoryLimitOnly(t *testing.T) {
	g := startGdn(t)
	const fill = "dd if=/dev/zero of=/dev/shm/big bs=1M count=80 2>/dev/null && stat -c %s /dev/shm/big && rm /dev/shm/big"
	free := g.create(garden.ContainerSpec{Handle: "shm1"})
	status, mounts, _ := run(t, free, "", "/bin/cat", "/proc/self/mounts")
	var shm []string
	for _, line := range strings.Split(mounts, "\n") {
		if f := strings.Fields(line); len(f) >= 4 && f[1] == "/dev/shm" {
			shm = f
		}
	}
	if status != 0 || shm == nil || shm[0] != "tmpfs" || shm[2] != "tmpfs" || strings.Contains(shm[3], "size=") {
		t.Errorf("/dev/shm mount %q, want source and type tmpfs and no size option:\n%s", shm, mounts)
	}
	if status, out, errout := run(t, free, "", "/bin/sh", "-c", fill); status != 0 || out != "83886080\n" {
		t.Fatalf("80 MiB in /dev/shm of a container without a memory limit: %d %q %q", status, out, errout)
	}

	limited := g.create(garden.ContainerSpec{Handle: "shm2", Limits: garden.Limits{Memory: garden.MemoryLimits{LimitInBytes: 48 << 20}}})
	if status, out, errout := runPea(t, limited, g.rootfs, &garden.ProcessLimits{}, fill); status != 0 || out != "83886080\n" {
		t.Fatalf("80 MiB in /dev/shm of a pea with empty limits, its container limited to 48 MiB: %d %q %q", status, out, errout)
	}
	// Last: the container's memory is full after it (the OOM killer may
	// take the writer, or the write fail).
	if status, out, _ := run(t, limited, "", "/bin/sh", "-c", fill); status == 0 {
		t.Fatalf("80 MiB in /dev/shm of a container limited to 48 MiB: %q", out)
	}
}

// An explicit host port another container maps is refused, in the pool or
// outside it (outside ports are allowed, as in the reference), also in a
// create's NetIn; port 0 still picks a free pool port, and the port is
// free again once its container is gone.
func TestNetInRefusesAHostPortOfAnotherContainer(t *testing.T) {
	g := startGdn(t)
	inPool, outside := g.portStart+5, g.portStart+60 // the pool is portStart..+49
	a := g.create(garden.ContainerSpec{Handle: "nia"})
	b := g.create(garden.ContainerSpec{Handle: "nib"})
	for _, hp := range []uint32{inPool, outside} {
		if got, _, err := a.NetIn(hp, 8080); err != nil || got != hp {
			t.Fatalf("a: net-in %d: %d %v", hp, got, err)
		}
	}
	for _, hp := range []uint32{inPool, outside} {
		_, _, err := b.NetIn(hp, 8080)
		if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("host port %d is already mapped", hp)) {
			t.Fatalf("b: net-in of a's port %d: %v, want it refused", hp, err)
		}
		t.Logf("refused: %v", err)
	}
	if info, err := b.Info(); err != nil || len(info.MappedPorts) != 0 {
		t.Fatalf("b's mapped ports after refusals: %+v %v", info.MappedPorts, err)
	}
	if hp, cp, err := b.NetIn(0, 8080); err != nil || hp == inPool || hp < g.portStart || hp >= g.portStart+50 || cp != 8080 {
		t.Fatalf("b: net-in 0: %d %d %v, want a pool port other than %d", hp, cp, err, inPool)
	}
	_, err := g.client.Create(garden.ContainerSpec{Handle: "nic", NetIn: []garden.NetIn{{HostPort: inPool, ContainerPort: 80}}})
	if err == nil || !strings.Contains(err.Error(), "already mapped") {
		t.Fatalf("create with a's port in its net-in: %v, want it refused", err)
	}
	if _, err := g.client.Lookup("nic"); !errors.As(err, new(garden.ContainerNotFoundError)) {
		t.Fatalf("the refused create left a container: %v", err)
	}
	// a's outside-the-pool mapping carries traffic.
	if _, err := a.Run(garden.ProcessSpec{Path: "/bin/sh", Args: []string{"-c", "echo hi-from-a | nc -l -p 8080"}}, client.ProcessIO{}); err != nil {
		t.Fatal(err)
	}
	info, _ := a.Info()
	if got := dialRead(info.ExternalIP, outside); got != "hi-from-a\n" {
		t.Fatalf("read %q from %s:%d", got, info.ExternalIP, outside)
	}
	if err := g.client.Destroy("nia"); err != nil {
		t.Fatal(err)
	}
	for _, hp := range []uint32{inPool, outside} {
		if _, _, err := b.NetIn(hp, 8080); err != nil {
			t.Fatalf("b: net-in %d after a is gone: %v", hp, err)
		}
	}
}

// dialRead reads what a server at ip:port sends, trying for a while
// (the listener may not be up yet).
func dialRead(ip string, port uint32) string {
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		conn, err := net.DialTimeout("tcp", net.JoinHostPort(ip, fmt.Sprint(port)), time.Second)
		if err == nil {
			_ = conn.SetReadDeadline(time.Now().Add(2 * time.Second))
			got, _ := io.ReadAll(conn)
			conn.Close()
			if len(got) > 0 {
				return string(got)
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return ""
}
