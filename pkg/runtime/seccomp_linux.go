package runtime

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"github.com/opencontainers/runc/libcontainer/configs"
	"github.com/opencontainers/runc/libcontainer/seccomp"
	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/gdn-dev/gdn/pkg/atomicfile"
	"github.com/gdn-dev/gdn/pkg/bundle"
	"github.com/gdn-dev/gdn/pkg/version"
)

// The sleeping init loads a seccomp filter compiled once per profile.
//
// libcontainer compiles the bundle's seccomp profile with libseccomp in
// every container's init: about half of the init's CPU (13 of 29 ms here)
// for a profile that is the same in every container. When the init is
// gdn-init, gdn-run takes the profile out of the init's configuration and
// hands gdn-init the very filter libcontainer would have loaded: compiled
// once per profile by libcontainer's own code in a throwaway process, read
// back from the kernel (PTRACE_SECCOMP_GET_FILTER) and kept beside the
// runtime root. gdn-init sets no_new_privs on itself (it never executes
// anything, so that changes nothing for it) and loads the filter before
// anything else, then acknowledges; gdn-run create fails, and removes the
// container, without that acknowledgement. The container's recorded
// configuration (state.json) keeps the profile, so every process exec'd
// later gets it from libcontainer exactly as before, through runc too.

// seccompDumpArg is the argument gdn-run re-executes itself with to
// compile a profile (see HandleInit).
const seccompDumpArg = "seccomp-dump"

// seccompAckTimeout bounds the wait for gdn-init's acknowledgement: an
// init that does not know the protocol ignores the variable and sleeps.
var seccompAckTimeout = 10 * time.Second

// initLoadsSeccomp reports whether the container's init is gdn-init with
// a profile it can load compiled (see handable).
func initLoadsSeccomp(args []string, sc *configs.Seccomp) bool {
	return sc != nil && len(args) == 1 && args[0] == bundle.InitMountPath && handable(sc)
}

// handable: a profile that can be loaded compiled, without libcontainer:
// no notification, and only flags that change how the filter is loaded.
func handable(sc *configs.Seccomp) bool {
	if sc.ListenerPath != "" {
		return false
	}
	for _, s := range sc.Syscalls {
		if s.Action == configs.Notify {
			return false
		}
	}
	_, ok := loadFlags(sc)
	return ok
}

// loadFlags are seccomp(2)'s SECCOMP_FILTER_FLAG_* for the profile's
// flags, as libcontainer loads its filter (TSYNC is moot: the init's other
// threads end at its exec). false: a flag this does not know.
func loadFlags(sc *configs.Seccomp) (uint, bool) {
	var flags uint
	for _, f := range sc.Flags {
		switch f {
		case specs.LinuxSeccompFlagLog:
			flags |= unix.SECCOMP_FILTER_FLAG_LOG
		case specs.LinuxSeccompFlagSpecAllow:
			flags |= unix.SECCOMP_FILTER_FLAG_SPEC_ALLOW
		case specs.LinuxSeccompFlagWaitKillableRecv:
			flags |= unix.SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
		case "SECCOMP_FILTER_FLAG_TSYNC":
		default:
			return 0, false
		}
	}
	return flags, true
}

// initSeccomp is what createAndRun needs to have gdn-init load the filter.
type initSeccomp struct {
	filter *os.File // the compiled filter, for gdn-init
	ackR   *os.File // gdn-init writes one byte to the other end once loaded
	ackW   *os.File
}

// initSeccompEnv names, in gdn-init's environment (not its arguments,
// which ps shows), the filter's fd, seccomp(2)'s flags and the
// acknowledgement's fd: "FD,FLAGS,ACKFD".
const initSeccompEnv = "GDN_INIT_SECCOMP"

// prepareInitSeccomp appends the two files gdn-init needs to load prog,
// profile's compiled filter, to extra, and returns the variable that
// tells gdn-init about them.
func prepareInitSeccomp(profile *configs.Seccomp, prog []byte, extra *[]*os.File) (*initSeccomp, string, error) {
	f, err := memfdWith("seccomp-filter", prog)
	if err != nil {
		return nil, "", err
	}
	ackR, ackW, err := os.Pipe()
	if err != nil {
		f.Close()
		return nil, "", err
	}
	s := &initSeccomp{filter: f, ackR: ackR, ackW: ackW}
	flags, _ := loadFlags(profile)
	filterFD := 3 + len(*extra)
	*extra = append(*extra, f, ackW)
	env := fmt.Sprintf("%s=%d,%d,%d", initSeccompEnv, filterFD, flags, filterFD+1)
	return s, env, nil
}

// memfdWith returns a memfd named name holding data, at offset 0.
func memfdWith(name string, data []byte) (*os.File, error) {
	fd, err := unix.MemfdCreate(name, unix.MFD_CLOEXEC)
	if err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(fd), name)
	if _, err := f.Write(data); err != nil {
		f.Close()
		return nil, err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// close releases this process's ends.
func (s *initSeccomp) close() {
	s.filter.Close()
	s.ackR.Close()
	s.ackW.Close()
}

// waitLoaded waits for gdn-init's acknowledgement, after the init has
// started (this process's write end is closed first, so that an init that
// dies is an end of file).
func (s *initSeccomp) waitLoaded() error {
	s.ackW.Close()
	_ = s.ackR.SetReadDeadline(time.Now().Add(seccompAckTimeout))
	b := make([]byte, 1)
	if n, err := s.ackR.Read(b); n != 1 {
		return fmt.Errorf("the init did not load the seccomp filter (an older gdn-init?): %w", err)
	}
	return nil
}

// recordProfile puts the profile back into the container's recorded
// configuration, which libcontainer wrote without it (its "seccomp" key
// is omitted when empty): processes exec'd later get the filter from it.
// The key goes in as bytes, at the head of "config"; a state that does
// not look as expected is decoded and encoded whole instead.
func recordProfile(stateDir string, profile *configs.Seccomp) error {
	p := filepath.Join(stateDir, "state.json")
	data, err := os.ReadFile(p)
	if err != nil {
		return err
	}
	sc, err := json.Marshal(profile)
	if err != nil {
		return err
	}
	head := []byte(`"config":{`)
	var out []byte
	if i := bytes.Index(data, head); i >= 0 && bytes.Count(data, head) == 1 && !bytes.Contains(data, []byte(`"seccomp":`)) {
		i += len(head)
		out = slices.Concat(data[:i], []byte(`"seccomp":`), sc, []byte(","), data[i:])
		if bytes.HasPrefix(data[i:], []byte("}")) {
			out = slices.Concat(data[:i], []byte(`"seccomp":`), sc, data[i:])
		}
	} else if out, err = withProfile(data, sc); err != nil {
		return fmt.Errorf("%s: %w", p, err)
	}
	// Atomic, not fsynced: like libcontainer's own write of the file, a
	// record of this boot, which ends with the host.
	return atomicfile.Replace(p, out, 0o600)
}

// withProfile sets config.seccomp of a state decoded whole.
func withProfile(data, sc []byte) ([]byte, error) {
	var state map[string]json.RawMessage
	if err := json.Unmarshal(data, &state); err != nil {
		return nil, err
	}
	var cfg map[string]json.RawMessage
	if err := json.Unmarshal(state["config"], &cfg); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	cfg["seccomp"] = sc
	var err error
	if state["config"], err = json.Marshal(cfg); err != nil {
		return nil, err
	}
	return json.Marshal(state)
}

// compiledFilter returns profile's filter as libcontainer loads it (raw
// struct sock_filter instructions), from the cache or compiled now. The
// key covers the profile, libseccomp's version, and libcontainer's and
// gdn's versions (libcontainer patches libseccomp's program).
func (r *Runtime) compiledFilter(profile *configs.Seccomp) ([]byte, error) {
	data, err := json.Marshal(profile)
	if err != nil {
		return nil, err
	}
	major, minor, micro := seccomp.Version()
	sum := sha256.Sum256(fmt.Appendf(data, "\nlibseccomp %d.%d.%d\nrunc %s\ngdn %s", major, minor, micro, runcVersion(), version.Version))
	cache := filepath.Join(r.seccompCache(), hex.EncodeToString(sum[:16]))
	if prog, err := os.ReadFile(cache); err == nil && len(prog) > 0 && len(prog)%int(unsafe.Sizeof(unix.SockFilter{})) == 0 {
		return prog, nil
	}
	prog, err := compile(data)
	if err != nil {
		return nil, fmt.Errorf("compile seccomp profile: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(cache), 0o700); err != nil {
		return nil, err
	}
	return prog, atomicfile.WriteFile(cache, prog, 0o600)
}

// runcVersion is the version of libcontainer built in.
func runcVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == "github.com/opencontainers/runc" {
				return d.Version
			}
		}
	}
	return "unknown"
}

// seccompCache is the directory of compiled profiles: beside the runtime
// root, not in it, where runc would take it for a container (the default
// root is runc's own).
func (r *Runtime) seccompCache() string { return r.root + ".seccomp" }

// compile is compileFilter; tests replace it.
var compile = compileFilter

// compileFilter has a child (this binary, seccompDumpArg) load the
// profile with libcontainer's own code, reads the loaded filter back from
// the kernel, and ends the child.
func compileFilter(profile []byte) ([]byte, error) {
	cmd := exec.Command("/proc/self/exe", seccompDumpArg)
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	defer func() {
		in.Close()
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}()
	if _, err := in.Write(append(profile, '\n')); err != nil {
		return nil, err
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		_ = cmd.Wait()
		return nil, fmt.Errorf("%v: %s", err, strings.TrimSpace(stderr.String()))
	}
	tid, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil {
		return nil, fmt.Errorf("seccomp-dump said %q", line)
	}
	return readFilter(tid)
}

// readFilter reads the first seccomp filter of thread tid: seize it,
// stop it, ask, let go. ptrace requests come from the tracing thread.
func readFilter(tid int) ([]byte, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := unix.PtraceSeize(tid); err != nil {
		return nil, fmt.Errorf("ptrace seize %d: %w", tid, err)
	}
	defer func() { _ = unix.PtraceDetach(tid) }()
	if err := unix.PtraceInterrupt(tid); err != nil {
		return nil, fmt.Errorf("ptrace interrupt %d: %w", tid, err)
	}
	var ws unix.WaitStatus
	if _, err := unix.Wait4(tid, &ws, unix.WALL, nil); err != nil {
		return nil, fmt.Errorf("wait for %d to stop: %w", tid, err)
	}
	n, _, errno := unix.Syscall6(unix.SYS_PTRACE, unix.PTRACE_SECCOMP_GET_FILTER, uintptr(tid), 0, 0, 0, 0)
	if errno != 0 {
		return nil, fmt.Errorf("PTRACE_SECCOMP_GET_FILTER: %w", errno)
	}
	if n == 0 {
		return nil, errors.New("PTRACE_SECCOMP_GET_FILTER: an empty filter")
	}
	prog := make([]unix.SockFilter, n)
	if _, _, errno := unix.Syscall6(unix.SYS_PTRACE, unix.PTRACE_SECCOMP_GET_FILTER, uintptr(tid), 0, uintptr(unsafe.Pointer(&prog[0])), 0, 0); errno != 0 {
		return nil, fmt.Errorf("PTRACE_SECCOMP_GET_FILTER: %w", errno)
	}
	size := int(unsafe.Sizeof(prog[0]))
	return unsafe.Slice((*byte)(unsafe.Pointer(&prog[0])), len(prog)*size), nil
}

// seccompDump is the child's side of compileFilter: load the profile on
// stdin into this thread as libcontainer's init does, say which thread,
// and wait for stdin to close.
func seccompDump() {
	runtime.LockOSThread()
	in := bufio.NewReader(os.Stdin)
	line, err := in.ReadBytes('\n')
	if err != nil {
		fmt.Fprintln(os.Stderr, "read profile:", err)
		os.Exit(1)
	}
	var profile configs.Seccomp
	if err := json.Unmarshal(line, &profile); err != nil {
		fmt.Fprintln(os.Stderr, "decode profile:", err)
		os.Exit(1)
	}
	if _, err := seccomp.InitSeccomp(&profile); err != nil {
		fmt.Fprintln(os.Stderr, "load profile:", err)
		os.Exit(1)
	}
	fmt.Printf("%d\n", unix.Gettid())
	_, _ = io.Copy(io.Discard, in)
	os.Exit(0)
}
