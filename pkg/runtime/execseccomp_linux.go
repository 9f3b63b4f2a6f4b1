package runtime

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"unsafe"

	"github.com/opencontainers/runc/libcontainer/configs"
	"golang.org/x/sys/unix"
)

// An exec'd process gets the compiled filter too.
//
// libcontainer's exec path compiles the container's profile again for
// every process it starts (13 ms of CPU here, on the path of every Run).
// StartProcess hands the bootstrap process the filter compiled once
// (compiledFilter) as its first extra file, a memfd named execFilterName.
// The bootstrap, before libcontainer's code runs (HandleInit), reads the
// configuration libcontainer's parent sends it, loads the filter into
// itself (it holds every capability in the container's user namespace at
// that point, as libcontainer does when it loads its own), and passes the
// configuration on without the profile, so that libcontainer loads
// nothing more. What remains of libcontainer's setup (capabilities, ids,
// the exec) then runs under the filter, a little earlier than
// libcontainer would load it. Anything unexpected on the way ends the
// bootstrap: the exec fails, nothing runs unfiltered. The container's
// recorded configuration keeps the profile.

// handOverExec turns the hand-over off (tests compare with libcontainer's
// own compilation).
var handOverExec = true

// execFilterName names the memfd of the filter for an exec'd process.
const execFilterName = "gdn-exec-seccomp"

// execFilter returns a memfd holding the compiled filter of profile for
// an exec'd process, or nil when the profile is not one to hand over
// (see initLoadsSeccomp) or cannot be compiled (libcontainer then
// compiles it, as before).
func (r *Runtime) execFilter(profile *configs.Seccomp) *os.File {
	if !handOverExec || profile == nil || !handable(profile) {
		return nil
	}
	prog, err := r.compiledFilter(profile)
	if err != nil {
		r.log.Warn("seccomp profile not compiled ahead; the exec compiles it", "error", err)
		return nil
	}
	f, err := memfdWith(execFilterName, prog)
	if err != nil {
		return nil
	}
	return f
}

// takeExecFilter runs in an exec's bootstrap process before libcontainer
// (see above). It does nothing unless its first extra file is the filter.
func takeExecFilter() error {
	if os.Getenv("_LIBCONTAINER_INITTYPE") != "setns" {
		return nil
	}
	if link, err := os.Readlink("/proc/self/fd/" + strconv.Itoa(firstExtraFD)); err != nil || !strings.HasPrefix(link, "/memfd:"+execFilterName) {
		return nil
	}
	// Raw fds only here: an *os.File left to the garbage collector closes
	// its fd number whenever it is finalised, by then perhaps another file
	// (fd 3 is closed below, the init pipe's number is reused).
	prog, err := readAllAt(firstExtraFD)
	if err != nil {
		return fmt.Errorf("read the seccomp filter: %w", err)
	}
	pipeFD, err := strconv.Atoi(os.Getenv("_LIBCONTAINER_INITPIPE"))
	if err != nil {
		return fmt.Errorf("no init pipe: %w", err)
	}
	// The configuration is one JSON value, the last thing the parent
	// writes on that pipe.
	var cfg map[string]json.RawMessage
	if err := json.NewDecoder(fdReader(pipeFD)).Decode(&cfg); err != nil {
		return fmt.Errorf("read the init configuration: %w", err)
	}
	var container map[string]json.RawMessage
	if err := json.Unmarshal(cfg["config"], &container); err != nil {
		return fmt.Errorf("init configuration: %w", err)
	}
	var profile configs.Seccomp
	if err := json.Unmarshal(container["seccomp"], &profile); err != nil {
		return fmt.Errorf("init configuration: its seccomp profile: %w", err)
	}
	if !handable(&profile) {
		return errors.New("init configuration: a seccomp profile the filter is not for")
	}
	flags, _ := loadFlags(&profile)
	delete(container, "seccomp")
	if cfg["config"], err = json.Marshal(container); err != nil {
		return err
	}
	out, err := json.Marshal(cfg)
	if err != nil {
		return err
	}
	// libcontainer reads the configuration from the same fd number: a
	// memfd there holds it without the profile (a socket's buffer might
	// not take a big configuration with nobody reading yet).
	fd, err := unix.MemfdCreate("init-config", unix.MFD_CLOEXEC)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	if err := writeAll(fd, out); err != nil {
		return err
	}
	if _, err := unix.Seek(fd, 0, io.SeekStart); err != nil {
		return err
	}
	if err := unix.Dup3(fd, pipeFD, unix.O_CLOEXEC); err != nil {
		return err
	}
	if err := loadFilter(prog, flags); err != nil {
		return fmt.Errorf("load the seccomp filter: %w", err)
	}
	return unix.Close(firstExtraFD)
}

// readAllAt reads fd from offset 0 to its end.
func readAllAt(fd int) ([]byte, error) {
	var buf []byte
	chunk := make([]byte, 32<<10)
	for {
		n, err := unix.Pread(fd, chunk, int64(len(buf)))
		if err != nil {
			return nil, err
		}
		if n == 0 {
			return buf, nil
		}
		buf = append(buf, chunk[:n]...)
	}
}

// fdReader reads a raw fd.
type fdReader int

func (r fdReader) Read(p []byte) (int, error) {
	n, err := unix.Read(int(r), p)
	switch {
	case err != nil:
		return 0, err
	case n == 0:
		return 0, io.EOF
	}
	return n, nil
}

// writeAll writes data to a raw fd.
func writeAll(fd int, data []byte) error {
	for len(data) > 0 {
		n, err := unix.Write(fd, data)
		if err != nil {
			return err
		}
		data = data[n:]
	}
	return nil
}

// loadFilter loads prog (raw struct sock_filter) with seccomp(2)'s
// flags, into every thread of this process (TSYNC): whichever thread
// libcontainer execs from has it.
func loadFilter(prog []byte, flags uint) error {
	size := int(unsafe.Sizeof(unix.SockFilter{}))
	if len(prog) == 0 || len(prog)%size != 0 || len(prog)/size > 0xffff {
		return fmt.Errorf("a filter of %d bytes", len(prog))
	}
	insns := make([]unix.SockFilter, len(prog)/size)
	copy(unsafe.Slice((*byte)(unsafe.Pointer(&insns[0])), len(prog)), prog)
	fprog := unix.SockFprog{Len: uint16(len(insns)), Filter: &insns[0]}
	_, _, errno := unix.RawSyscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER,
		uintptr(flags|unix.SECCOMP_FILTER_FLAG_TSYNC), uintptr(unsafe.Pointer(&fprog)))
	runtime.KeepAlive(insns)
	if errno != 0 {
		return errno
	}
	return nil
}
