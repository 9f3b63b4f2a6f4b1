package spawn

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// Serve is the helper: it takes runs from ctl (fd 3 of the helper) until
// the server closes it (or dies), then waits for the runs it started and
// returns. Termination signals are the server's business: a helper
// between a run's start and its end must stay to report it.
func Serve(ctl *os.File) error {
	// Caught and dropped, not ignored: an ignored signal stays ignored
	// in the programs the helper runs, a caught one does not.
	signal.Notify(make(chan os.Signal, 1), syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	nameThreads(helperComm)
	conn, err := fileConn(ctl)
	if err != nil {
		return fmt.Errorf("spawn helper: fd 3 is not the server's socket (gdn-server starts this helper itself): %w", err)
	}
	defer conn.Close()
	var runs sync.WaitGroup
	defer runs.Wait()
	buf := make([]byte, maxMessage)
	oob := make([]byte, unix.CmsgSpace(64*4))
	for {
		n, oobn, _, _, err := conn.ReadMsgUnix(buf, oob)
		if errors.Is(err, io.EOF) || (err == nil && n == 0 && oobn == 0) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("spawn helper: %w", err)
		}
		files, err := receivedFiles(oob[:oobn])
		if err != nil {
			closeAll(files)
			continue
		}
		var req request
		if err := json.Unmarshal(buf[:n], &req); err != nil || len(files) == 0 {
			closeAll(files)
			continue
		}
		runs.Add(1)
		go func() {
			defer runs.Done()
			run(req, files)
		}()
	}
}

// helperComm is the helper's name in ps, top and perf (comm, at most 15
// bytes): exec'd as /proc/self/exe, it would be "exe".
const helperComm = "gdn-spawn"

// nameThreads names every thread of the process; threads started later
// take the name of the thread that starts them.
func nameThreads(name string) {
	tasks, _ := os.ReadDir("/proc/self/task")
	for _, t := range tasks {
		_ = os.WriteFile("/proc/self/task/"+t.Name()+"/comm", []byte(name), 0)
	}
}

// run starts one request and reports on its connection (files[0]).
func run(req request, files []*os.File) {
	rc, err := fileConn(files[0])
	if err != nil {
		closeAll(files[1:])
		return
	}
	defer rc.Close()
	cmd := &exec.Cmd{Path: req.Path, Args: req.Args, Env: req.Env}
	rest := files[1:]
	want := req.Extra
	for _, has := range []bool{req.Stdin, req.Stdout, req.Stderr} {
		if has {
			want++
		}
	}
	if len(rest) != want {
		closeAll(rest)
		reply(rc, message{Error: fmt.Sprintf("%d files for a run that names %d", len(rest), want)})
		return
	}
	take := func(has bool) *os.File {
		if !has {
			return nil
		}
		f := rest[0]
		rest = rest[1:]
		return f
	}
	// Files given as *os.File go to the child as they are (no copying
	// goroutines); an absent one is /dev/null.
	if f := take(req.Stdin); f != nil {
		cmd.Stdin = f
	}
	if f := take(req.Stdout); f != nil {
		cmd.Stdout = f
	}
	if f := take(req.Stderr); f != nil {
		cmd.Stderr = f
	}
	cmd.ExtraFiles = rest
	err = cmd.Start()
	// The child has its copies; the helper keeps none.
	closeAll(files[1:])
	if err != nil {
		reply(rc, message{Error: err.Error()})
		return
	}
	if reply(rc, message{Pid: cmd.Process.Pid}) != nil {
		// The server is gone: the run goes on, and is reaped.
		_ = cmd.Wait()
		return
	}
	// Signals from the server until the run ends (the connection is
	// closed below then, which ends this reader). os.Process signals
	// through a pidfd, and not at all once the run is reaped: never a
	// process that took its pid since.
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := rc.Read(buf)
			if err != nil || n == 0 {
				return
			}
			var m message
			if json.Unmarshal(buf[:n], &m) == nil && m.Signal > 0 {
				_ = cmd.Process.Signal(syscall.Signal(m.Signal))
			}
		}
	}()
	_ = cmd.Wait()
	ps := cmd.ProcessState
	m := message{Exited: true, ExitCode: ps.ExitCode(), UserNs: int64(ps.UserTime()), SysNs: int64(ps.SystemTime())}
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		m.ExitCode, m.Signal = 0, int(ws.Signal())
	}
	_ = reply(rc, m)
}

func reply(c *net.UnixConn, m message) error {
	data, err := json.Marshal(m)
	if err != nil {
		return err
	}
	_, err = c.Write(data)
	return err
}

// receivedFiles are the files of a message's SCM_RIGHTS (received
// close-on-exec: net.UnixConn asks for MSG_CMSG_CLOEXEC).
func receivedFiles(oob []byte) ([]*os.File, error) {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return nil, err
	}
	var files []*os.File
	for _, m := range msgs {
		fds, err := unix.ParseUnixRights(&m)
		if err != nil {
			return files, err
		}
		for _, fd := range fds {
			files = append(files, os.NewFile(uintptr(fd), "spawned"))
		}
	}
	return files, nil
}

func closeAll(files []*os.File) {
	for _, f := range files {
		f.Close()
	}
}
