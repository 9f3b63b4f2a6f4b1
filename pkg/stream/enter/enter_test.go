package enter

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"

	"github.com/gdn-dev/gdn/pkg/testutil"
)

// reportEnv makes the test binary, run by Run, print what it became.
const reportEnv = "GDN_ENTER_TEST_REPORT"

func TestMain(m *testing.M) {
	if os.Getenv(reportEnv) != "" {
		b, err := os.ReadFile("/proc/self/status")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		for _, l := range strings.Split(string(b), "\n") {
			for _, k := range []string{"Uid:", "Gid:", "Groups:", "CapEff:", "CapPrm:", "CapBnd:", "NSpid:"} {
				if strings.HasPrefix(l, k) {
					fmt.Println(strings.Join(strings.Fields(l), " "))
				}
			}
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// container starts a process in new user (ids 0-65535 mapped to the
// host's 100000-165535), mount and pid namespaces, with a /proc of its
// own, and returns its pid.
func container(t *testing.T) int {
	t.Helper()
	testutil.RequireRoot(t)
	cmd := exec.Command("/bin/sh", "-c", "mount --make-rprivate / && mount -t proc proc /proc && echo ready && exec sleep 60")
	ids := []syscall.SysProcIDMap{{ContainerID: 0, HostID: 100000, Size: 65536}}
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags:  syscall.CLONE_NEWUSER | syscall.CLONE_NEWNS | syscall.CLONE_NEWPID,
		UidMappings: ids, GidMappings: ids, GidMappingsEnableSetgroups: true,
		Credential: &syscall.Credential{Uid: 0, Gid: 0},
	}
	var errb strings.Builder
	cmd.Stderr = &errb
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	line, _ := bufio.NewReader(out).ReadString('\n')
	if line != "ready\n" {
		t.Fatalf("the namespaced process did not start: %s", errb.String())
	}
	return cmd.Process.Pid
}

func report(t *testing.T, s Spec) string {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), reportEnv+"=1")
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := Run(cmd, s); err != nil {
		t.Fatalf("Run: %v: %s", err, errb.String())
	}
	return out.String()
}

func TestRunAsRootKeepsOnlyTheBoundingSet(t *testing.T) {
	pid := container(t)
	st, err := startTime(pid)
	if err != nil {
		t.Fatal(err)
	}
	got := report(t, Spec{Pid: pid, StartTime: st, UserNS: true, UID: 0, GID: 0, Bounding: []string{"CAP_CHOWN", "CAP_DAC_OVERRIDE"}})
	for _, want := range []string{
		"Uid: 0 0 0 0\n", "Gid: 0 0 0 0\n", "CapEff: 0000000000000003\n",
		"CapPrm: 0000000000000003\n", "CapBnd: 0000000000000003\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("as root: no %q in\n%s", strings.TrimSpace(want), got)
		}
	}
	// In the pid namespace: the report read /proc/self of the
	// container's /proc, which a process outside has none of, and its pid
	// there is not its host pid.
	var nspid int
	if _, err := fmt.Sscanf(got[strings.Index(got, "NSpid:"):], "NSpid: %d\n", &nspid); err != nil || nspid == 0 || nspid > 100 {
		t.Errorf("not in the pid namespace (NSpid %d, %v):\n%s", nspid, err, got)
	}
}

func TestRunAsAUserHoldsNoCapabilities(t *testing.T) {
	pid := container(t)
	got := report(t, Spec{Pid: pid, UserNS: true, UID: 1000, GID: 1001, Groups: []int{1002, 1003}, Bounding: []string{"CAP_CHOWN", "CAP_DAC_OVERRIDE"}})
	for _, want := range []string{
		"Uid: 1000 1000 1000 1000\n", "Gid: 1001 1001 1001 1001\n", "Groups: 1002 1003\n",
		"CapEff: 0000000000000000\n", "CapPrm: 0000000000000000\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("as 1000: no %q in\n%s", strings.TrimSpace(want), got)
		}
	}
}

func TestRunReportsAFailureToEnter(t *testing.T) {
	pid := container(t)
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), reportEnv+"=1")
	var errb strings.Builder
	cmd.Stderr = &errb
	// uid 70000 is not mapped in the namespace.
	err := Run(cmd, Spec{Pid: pid, UserNS: true, UID: 70000, GID: 0})
	if err == nil || !strings.Contains(errb.String(), `"message":"enter the container: setuid: Invalid argument"`) {
		t.Fatalf("Run as an unmapped uid: %v, stderr %q", err, errb.String())
	}
	st, err := startTime(pid)
	if err != nil {
		t.Fatal(err)
	}
	if err := Run(exec.Command(os.Args[0]), Spec{Pid: pid, StartTime: st + 1}); err == nil || !strings.Contains(err.Error(), "is gone") {
		t.Fatalf("Run with another start time: %v, want the init gone", err)
	}
	if err := Run(exec.Command(os.Args[0]), Spec{Pid: pid, Bounding: []string{"CAP_NO_SUCH"}}); err == nil || !strings.Contains(err.Error(), "CAP_NO_SUCH") {
		t.Fatalf("Run with an unknown capability: %v", err)
	}
}
