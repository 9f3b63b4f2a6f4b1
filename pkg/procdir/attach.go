package procdir

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/gdn-dev/gdn/pkg/errkind"
	"golang.org/x/sys/unix"
)

// openFIFO opens a FIFO without blocking on the other end and returns it
// in Go's poller, so reads and writes honour deadlines and contexts.
func openFIFO(path string, flags int) (*os.File, error) {
	fd, err := unix.Open(path, flags|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	return os.NewFile(uintptr(fd), path), nil
}

// Streams are an attached client's ends of a process's stdio. Stdin may be
// nil (the client sends nothing); a nil writer discards that output.
type Streams struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	// Attached, if set, is called once Attach holds its ends of the
	// FIFOs (its stdin writer included), before any output is copied:
	// the launcher of a process releases its own stdin writer there.
	Attached func()
}

// Attach connects s to d's FIFOs: the client's stdin is copied to the
// process (and closed at its EOF), the process's stdout and stderr to the
// client. It returns when both outputs reach EOF, that is when every
// writer (the process, children that inherited its stdio, and dadoo, which
// holds unread output for latecomers) has closed them, or when ctx ends.
// A process that is gone returns at once. Errors: errkind.ProcessNotFound.
func (d Dir) Attach(ctx context.Context, s Streams) error {
	if !d.Exists() {
		return fmt.Errorf("process %q: %w", d, errkind.ProcessNotFound)
	}
	outs := []struct {
		name string
		w    io.Writer
	}{{Stdout, s.Stdout}, {Stderr, s.Stderr}}
	var wg sync.WaitGroup
	errs := make(chan error, len(outs))
	for _, o := range outs {
		f, err := openFIFO(d.File(o.name), unix.O_RDONLY)
		if err != nil {
			return err
		}
		w := o.w
		if w == nil {
			w = io.Discard
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer f.Close()
			if _, err := io.Copy(w, f); err != nil && !errors.Is(err, os.ErrClosed) {
				errs <- fmt.Errorf("copy %s: %w", f.Name(), err)
			}
		}()
		stop := context.AfterFunc(ctx, func() { f.Close() })
		defer stop()
	}
	if s.Stdin != nil {
		// Opened here, not in the goroutine, so that it is held
		// before Attached runs. ENXIO (no reader: the process has
		// closed its stdin or exited) means there is nobody to feed.
		if in, err := openFIFO(d.File(Stdin), unix.O_WRONLY); err == nil {
			go feed(in, s.Stdin)
		}
	}
	if s.Attached != nil {
		s.Attached()
	}
	wg.Wait()
	close(errs)
	if err := ctx.Err(); err != nil {
		return err
	}
	return <-errs
}

// feed copies r into the stdin FIFO and closes it at r's EOF, which the
// process sees as EOF once no other writer is left.
func feed(f *os.File, r io.Reader) {
	defer f.Close()
	_, _ = io.Copy(f, r)
}

// Wait blocks until the process has exited and its exit status is
// recorded, then returns it: at once for a process that ended long ago.
// Errors: errkind.ProcessNotFound; an error if dadoo died without
// recording a status.
func (d Dir) Wait(ctx context.Context) (int, error) {
	if !d.Exists() {
		return 0, fmt.Errorf("process %q: %w", d, errkind.ProcessNotFound)
	}
	if status, ok, err := d.ReadExitCode(); ok || err != nil {
		return status, err
	}
	// dadoo holds the exit FIFO open for as long as the process runs;
	// EOF on it means the exit code is written (or dadoo died).
	f, err := openFIFO(d.File(Exit), unix.O_RDONLY)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	stop := context.AfterFunc(ctx, func() { f.Close() })
	defer stop()
	_, _ = io.Copy(io.Discard, f)
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	status, ok, err := d.ReadExitCode()
	if err != nil {
		return 0, err
	}
	if !ok {
		return 0, fmt.Errorf("process %q: its monitor (dadoo) exited without recording an exit status; see %s", d, d.File(DadooLog))
	}
	return status, nil
}

// Signal sends sig to the process unless it has already exited (then it
// does nothing). dadoo records the exit status before it reaps the
// process, so while there is no exit status the pid in pidfile cannot
// name another process. Errors: errkind.ProcessNotFound.
func (d Dir) Signal(sig unix.Signal) error {
	if !d.Exists() {
		return fmt.Errorf("process %q: %w", d, errkind.ProcessNotFound)
	}
	pid, err := d.ReadPid(Pidfile)
	if err != nil {
		return fmt.Errorf("process %q: %w", d, err)
	}
	fd, err := unix.PidfdOpen(pid, 0)
	if errors.Is(err, unix.ESRCH) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("process %q: %w", d, err)
	}
	defer unix.Close(fd)
	if _, exited, _ := d.ReadExitCode(); exited {
		return nil
	}
	if err := unix.PidfdSendSignal(fd, sig, nil, 0); err != nil && !errors.Is(err, unix.ESRCH) {
		return fmt.Errorf("signal process %q: %w", d, err)
	}
	return nil
}

// WindowSize is the JSON written to the winsz FIFO.
type WindowSize struct {
	Columns uint16 `json:"columns"`
	Rows    uint16 `json:"rows"`
}

// SetWindowSize asks dadoo to resize the process's terminal. It fails for
// a process without a terminal (nobody reads winsz).
func (d Dir) SetWindowSize(ws WindowSize) error {
	f, err := openFIFO(d.File(Winsz), unix.O_WRONLY)
	if err != nil {
		return fmt.Errorf("resize %q: no terminal to resize: %w", d, err)
	}
	defer f.Close()
	return json.NewEncoder(f).Encode(ws)
}
