// Package spawn starts programs for a process that holds many open files,
// from a helper process that holds almost none.
//
// Every fork copies the parent's file table, and every exec then closes
// each close-on-exec file in it, one by one. gdn-server holds a few files
// for every live process (FIFOs, sockets, pidfds): with 1000 containers,
// about 6000, and each tool run from it cost about 2 ms of CPU more than
// with none, on the request's path. The helper is started once, before
// those files exist; the server hands it each run (program, arguments,
// environment and the run's own files, over a unix socket) and gets back
// the pid, then the exit status and the CPU the run used.
//
// Each run has a connection of its own (a socket pair whose one end goes
// to the helper with the run's files), on which the server can signal
// the run and the helper reports its end. A helper that died is started
// again on the next run.
package spawn

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Cmd is one program to run, with the files it gets: Stdin, Stdout and
// Stderr (nil: /dev/null) and ExtraFiles as fds 3, 4, ... The caller
// keeps its files; Start has handed copies to the helper when it returns.
type Cmd struct {
	Path       string
	Args       []string // with Args[0]
	Env        []string
	Stdin      *os.File
	Stdout     *os.File
	Stderr     *os.File
	ExtraFiles []*os.File
}

// State is how a run ended.
type State struct {
	// ExitCode is the exit status, or -1 if a signal ended the run.
	ExitCode int
	Signal   syscall.Signal
	// User and System are the CPU times of the run and of the children
	// it waited for.
	User, System time.Duration
}

// Success tells whether the run exited with status 0.
func (s State) Success() bool { return s.ExitCode == 0 }

func (s State) String() string {
	if s.ExitCode < 0 {
		return "signal: " + s.Signal.String()
	}
	return fmt.Sprintf("exit status %d", s.ExitCode)
}

// Spawner is the server's side of a helper.
type Spawner struct {
	exe  string
	args []string

	mu     sync.Mutex
	ctl    *net.UnixConn // to the helper; nil until started
	helper *os.Process
}

// New returns a Spawner whose helper is exe run with args; it calls Serve
// (gdn-server: its hidden spawn-helper command). The helper starts now,
// so that it holds none of the files the caller opens later.
func New(exe string, args ...string) (*Spawner, error) {
	if os.Getenv(helperMarker) != "" {
		return nil, errors.New("spawn: a spawn helper starts no helper (is the program that serves as the helper the right one?)")
	}
	s := &Spawner{exe: exe, args: args}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.startLocked(); err != nil {
		return nil, err
	}
	return s, nil
}

// startLocked starts the helper with one end of a socket pair as fd 3.
// It runs in a process group of its own: a terminal's ^C is the server's
// to handle, and the helper must outlive the server's shutdown until its
// runs have ended.
func (s *Spawner) startLocked() error {
	ours, theirs, err := socketPair()
	if err != nil {
		return err
	}
	defer theirs.Close()
	cmd := exec.Command(s.exe, s.args...)
	// Shown by ps as the server's own name and the helper's command
	// (exe is usually /proc/self/exe).
	cmd.Args[0] = filepath.Base(os.Args[0])
	cmd.Env = append(os.Environ(), helperMarker+"=1")
	cmd.ExtraFiles = []*os.File{theirs}
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		ours.Close()
		return fmt.Errorf("start the spawn helper: %w", err)
	}
	conn, err := fileConn(ours)
	if err != nil {
		_ = cmd.Process.Kill()
		_, _ = cmd.Process.Wait()
		return err
	}
	s.ctl, s.helper = conn, cmd.Process
	// Reaped when it exits (it only does when the server is gone or it
	// was killed).
	go func(p *os.Process) { _, _ = p.Wait() }(cmd.Process)
	return nil
}

// helperMarker is in the helper's environment (not in the runs', which
// get the server's): a helper that does not serve, as a test binary
// started by mistake would, cannot start helpers in turn.
const helperMarker = "GDN_SPAWN_HELPER"

// Close ends the helper once its runs have ended.
func (s *Spawner) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ctl == nil {
		return nil
	}
	err := s.ctl.Close()
	s.ctl = nil
	return err
}

// Pid is the helper's pid (for tests and logs).
func (s *Spawner) Pid() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.helper == nil {
		return 0
	}
	return s.helper.Pid
}

// request is what the helper gets for a run, with its files: the run's
// connection, then stdin, stdout, stderr and the extra files, each
// present or not as the flags say.
type request struct {
	Path   string   `json:"path"`
	Args   []string `json:"args"`
	Env    []string `json:"env"`
	Stdin  bool     `json:"stdin,omitempty"`
	Stdout bool     `json:"stdout,omitempty"`
	Stderr bool     `json:"stderr,omitempty"`
	Extra  int      `json:"extra,omitempty"`
}

// message is what either side writes on a run's connection: the helper
// its pid (or why it did not start), then its end; the server a signal.
type message struct {
	Pid      int    `json:"pid,omitempty"`
	Error    string `json:"error,omitempty"`
	Exited   bool   `json:"exited,omitempty"`
	ExitCode int    `json:"exit_code,omitempty"`
	Signal   int    `json:"signal,omitempty"`
	UserNs   int64  `json:"user_ns,omitempty"`
	SysNs    int64  `json:"sys_ns,omitempty"`
}

// maxMessage bounds a request: arguments and environment of a tool run
// are a few KiB.
const maxMessage = 1 << 20

// Process is a run that started.
type Process struct {
	Pid  int
	conn *net.UnixConn
}

// ErrHelperGone is the error of a run whose helper died before the run
// ended: how it ended is unknown.
var ErrHelperGone = errors.New("spawn helper gone")

// Start has the helper start c and returns once it has (or failed to).
func (s *Spawner) Start(c Cmd) (*Process, error) {
	ours, theirs, err := socketPair()
	if err != nil {
		return nil, err
	}
	defer theirs.Close()
	conn, err := fileConn(ours)
	if err != nil {
		return nil, err
	}
	req := request{Path: c.Path, Args: c.Args, Env: c.Env, Extra: len(c.ExtraFiles)}
	fds := []int{int(theirs.Fd())}
	for _, f := range []struct {
		file *os.File
		flag *bool
	}{{c.Stdin, &req.Stdin}, {c.Stdout, &req.Stdout}, {c.Stderr, &req.Stderr}} {
		if f.file != nil {
			*f.flag = true
			fds = append(fds, int(f.file.Fd()))
		}
	}
	for _, f := range c.ExtraFiles {
		fds = append(fds, int(f.Fd()))
	}
	data, err := json.Marshal(req)
	if err != nil {
		conn.Close()
		return nil, err
	}
	if err := s.send(data, unix.UnixRights(fds...)); err != nil {
		conn.Close()
		return nil, err
	}
	theirs.Close()
	var m message
	if err := readMessage(conn, &m); err != nil {
		conn.Close()
		return nil, fmt.Errorf("start %s: %w", c.Path, err)
	}
	if m.Error != "" || m.Pid <= 0 {
		conn.Close()
		return nil, fmt.Errorf("start %s: %s", c.Path, m.Error)
	}
	return &Process{Pid: m.Pid, conn: conn}, nil
}

// send writes a request to the helper, starting it (again) if it is not
// running: one that died takes no more runs, and its replacement gets
// the request.
func (s *Spawner) send(data, oob []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for attempt := 0; ; attempt++ {
		if s.ctl == nil {
			if err := s.startLocked(); err != nil {
				return err
			}
		}
		_, _, err := s.ctl.WriteMsgUnix(data, oob, nil)
		if err == nil {
			return nil
		}
		s.ctl.Close()
		s.ctl = nil
		if attempt > 0 {
			return fmt.Errorf("spawn helper: %w", err)
		}
	}
}

// Signal sends sig to the run (through the helper, which knows whether
// the pid is still the run's).
func (p *Process) Signal(sig syscall.Signal) error {
	data, _ := json.Marshal(message{Signal: int(sig)})
	_, err := p.conn.Write(data)
	return err
}

// Wait waits for the run's end.
func (p *Process) Wait() (State, error) {
	defer p.conn.Close()
	var m message
	for {
		if err := readMessage(p.conn, &m); err != nil {
			return State{}, fmt.Errorf("%w: %w", ErrHelperGone, err)
		}
		if m.Exited {
			break
		}
	}
	st := State{ExitCode: m.ExitCode, User: time.Duration(m.UserNs), System: time.Duration(m.SysNs)}
	if m.Signal != 0 {
		st.ExitCode, st.Signal = -1, syscall.Signal(m.Signal)
	}
	return st, nil
}

func readMessage(conn *net.UnixConn, m *message) error {
	buf := make([]byte, 4096)
	n, err := conn.Read(buf)
	if err != nil {
		return err
	}
	if n == 0 {
		return errors.New("connection closed")
	}
	*m = message{}
	return json.Unmarshal(buf[:n], m)
}

// socketPair is a pair of connected SOCK_SEQPACKET sockets: each write
// is one message, and a closed end reads as end of file.
func socketPair() (ours, theirs *os.File, err error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("socketpair: %w", err)
	}
	return os.NewFile(uintptr(fds[0]), "spawn"), os.NewFile(uintptr(fds[1]), "spawn"), nil
}

// fileConn makes f a *net.UnixConn (on the runtime's poller) and closes f.
func fileConn(f *os.File) (*net.UnixConn, error) {
	defer f.Close()
	c, err := net.FileConn(f)
	if err != nil {
		return nil, err
	}
	uc, ok := c.(*net.UnixConn)
	if !ok {
		c.Close()
		return nil, fmt.Errorf("spawn: %T is not a unix socket", c)
	}
	return uc, nil
}
