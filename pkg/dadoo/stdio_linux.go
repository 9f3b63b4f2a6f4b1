package dadoo

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/gdn-dev/gdn/pkg/procdir"
	"golang.org/x/sys/unix"
)

// lingerPoll is how often, at the most, a dadoo whose process has exited
// checks whether its unread output has been read; lingerPollMin is how
// often while a reader is draining it. The output's EOF, which ends a
// Run's stream, comes only when dadoo lets go of it: a fixed 100 ms poll
// added up to 100 ms to every Run whose output was still being read when
// the process exited (50 MiB through the API: 240 MiB/s instead of 450,
// in half the runs). Stagnant output backs the poll off to lingerPoll.
const (
	lingerPoll    = 100 * time.Millisecond
	lingerPollMin = time.Millisecond
)

// stdio is a process's connection to its FIFOs while dadoo runs.
type stdio struct {
	// outs are dadoo's read-write ends of stdout and stderr: they keep a
	// reader (no SIGPIPE) and hold unread output after the process ends.
	outs []*os.File
	// childSide is what the starter hands to the process (stdin, stdout,
	// stderr; or the console socket); closed once the process runs.
	childSide []*os.File

	// Terminal only.
	sock     *os.File // dadoo's end of the console socket
	master   *os.File
	stdinTTY *os.File
	winsz    *os.File
	copied   chan struct{} // closed when master output has been copied
}

// openPlain gives the process the FIFOs themselves: stdin read-only (the
// launcher holds a writer, so the open does not block and no early EOF is
// seen), stdout and stderr read-write.
func openPlain(d procdir.Dir) (*stdio, error) {
	s := &stdio{}
	in, err := openRaw(d.File(procdir.Stdin), unix.O_RDONLY|unix.O_NONBLOCK)
	if err != nil {
		return nil, err
	}
	// O_NONBLOCK was only to open without waiting; the process must
	// see an ordinary blocking stdin.
	if err := unix.SetNonblock(int(in.Fd()), false); err != nil {
		in.Close()
		return nil, err
	}
	s.childSide = append(s.childSide, in)
	if err := s.openOuts(d); err != nil {
		s.close()
		return nil, err
	}
	s.childSide = append(s.childSide, s.outs...)
	return s, nil
}

func (s *stdio) openOuts(d procdir.Dir) error {
	for _, name := range []string{procdir.Stdout, procdir.Stderr} {
		f, err := openRaw(d.File(name), unix.O_RDWR)
		if err != nil {
			return err
		}
		// A larger pipe lets a chatty process write on while the server
		// reads in bigger gulps, with fewer switches between the two.
		// The kernel fills it page by page, as written; a failure
		// (a host's pipe-max-size below it) keeps the default.
		_, _ = unix.FcntlInt(f.Fd(), unix.F_SETPIPE_SZ, outPipeSize)
		s.outs = append(s.outs, f)
	}
	return nil
}

// outPipeSize is the capacity of a process's stdout and stderr FIFOs.
const outPipeSize = 1 << 20

// openTTY prepares a console socket: libcontainer creates the terminal in
// the container and sends its master end over it.
func openTTY(d procdir.Dir) (*stdio, error) {
	s := &stdio{copied: make(chan struct{})}
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("console socket: %w", err)
	}
	s.sock = os.NewFile(uintptr(fds[0]), "console-parent")
	child := os.NewFile(uintptr(fds[1]), "console-child")
	s.childSide = append(s.childSide, child)
	if err := s.openOuts(d); err != nil {
		s.close()
		return nil, err
	}
	// Read-write: stdin of a terminal never reaches EOF, and a client
	// may attach and type at any time.
	if s.stdinTTY, err = openRaw(d.File(procdir.Stdin), unix.O_RDWR); err != nil {
		s.close()
		return nil, err
	}
	if s.winsz, err = openRaw(d.File(procdir.Winsz), unix.O_RDWR); err != nil {
		s.close()
		return nil, err
	}
	return s, nil
}

// started runs once the process has started: it drops dadoo's copies of
// the child's ends, and for a terminal receives the master and starts the
// pumps.
func (s *stdio) started(size *procdir.WindowSize) error {
	for _, f := range s.childSide {
		if !s.isOut(f) {
			f.Close()
		}
	}
	s.childSide = nil
	if s.sock == nil {
		return nil
	}
	master, err := recvFD(s.sock)
	if err != nil {
		return fmt.Errorf("receive terminal: %w", err)
	}
	s.master = master
	if size != nil {
		setSize(master, *size)
	}
	go func() {
		defer close(s.copied)
		// Ends with EIO once the process and every holder of the
		// terminal's slave end are gone.
		_, _ = io.Copy(s.outs[0], master)
	}()
	go func() { _, _ = io.Copy(master, s.stdinTTY) }()
	go func() {
		dec := json.NewDecoder(s.winsz)
		for {
			var ws procdir.WindowSize
			if err := dec.Decode(&ws); err != nil {
				return
			}
			setSize(master, ws)
		}
	}()
	return nil
}

// isOut reports whether f is one of dadoo's own output ends, which it
// keeps after the start.
func (s *stdio) isOut(f *os.File) bool {
	for _, o := range s.outs {
		if f == o {
			return true
		}
	}
	return false
}

// setSize applies a window size; 0 means Guardian's default 80x24.
func setSize(master *os.File, ws procdir.WindowSize) {
	if ws.Columns == 0 {
		ws.Columns = 80
	}
	if ws.Rows == 0 {
		ws.Rows = 24
	}
	_ = unix.IoctlSetWinsize(int(master.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Col: ws.Columns, Row: ws.Rows})
}

// recvFD receives one file descriptor sent with SCM_RIGHTS.
func recvFD(sock *os.File) (*os.File, error) {
	name := make([]byte, 4096)
	oob := make([]byte, unix.CmsgSpace(4))
	n, oobn, _, _, err := unix.Recvmsg(int(sock.Fd()), name, oob, 0)
	if err != nil {
		return nil, err
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil || len(msgs) != 1 {
		return nil, fmt.Errorf("no file descriptor received (%v)", err)
	}
	fds, err := unix.ParseUnixRights(&msgs[0])
	if err != nil || len(fds) != 1 {
		return nil, fmt.Errorf("no file descriptor received (%v)", err)
	}
	return os.NewFile(uintptr(fds[0]), string(name[:n])), nil
}

// drain waits, for a terminal, until its output has been copied.
func (s *stdio) drain() {
	if s.copied != nil {
		<-s.copied
	}
}

// linger keeps dadoo, and so its ends of the output FIFOs, alive while
// they hold output nobody has read yet, so a late attach still gets it;
// it gives up when the process directory is removed.
func (s *stdio) linger(d procdir.Dir) {
	wait := lingerPollMin
	for left := unread(s.outs); left > 0 && d.Exists(); {
		time.Sleep(wait)
		now := unread(s.outs)
		if now < left {
			wait = lingerPollMin // being read: look again soon
		} else {
			wait = min(2*wait, lingerPoll)
		}
		left = now
	}
}

// unread is the number of bytes waiting in the FIFOs (FIONREAD, which
// Linux names TIOCINQ).
func unread(files []*os.File) int {
	total := 0
	for _, f := range files {
		if n, err := unix.IoctlGetInt(int(f.Fd()), unix.TIOCINQ); err == nil {
			total += n
		}
	}
	return total
}

func (s *stdio) close() {
	for _, f := range s.childSide {
		if !s.isOut(f) {
			f.Close()
		}
	}
	for _, f := range append(s.outs, s.sock, s.master, s.stdinTTY, s.winsz) {
		if f != nil {
			f.Close()
		}
	}
}
