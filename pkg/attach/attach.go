// Package attach connects a command line's own stdio to a process of a
// container through its process directory, the way an operator expects
// from a terminal: raw mode and window-size forwarding when the process has
// a terminal and so does the caller, and the process's exit status at the
// end.
package attach

import (
	"context"
	"os"
	"os/signal"

	"github.com/gdn-dev/gdn/pkg/procdir"
	"golang.org/x/sys/unix"
	"golang.org/x/term"
)

// Options says what to attach.
type Options struct {
	Stdin          *os.File
	Stdout, Stderr *os.File
	// TTY is true when the process runs on a terminal: the caller's
	// terminal, if it has one, is put in raw mode and its size follows.
	TTY bool
	// Attached is called once the attach holds its FIFO ends (see
	// procdir.Streams).
	Attached func()
}

// Run attaches to the process in d until its output ends, then waits for
// its exit status and returns it. Errors: errkind.ProcessNotFound.
func Run(ctx context.Context, d procdir.Dir, o Options) (int, error) {
	if o.TTY && o.Stdin != nil && term.IsTerminal(int(o.Stdin.Fd())) {
		if state, err := term.MakeRaw(int(o.Stdin.Fd())); err == nil {
			defer term.Restore(int(o.Stdin.Fd()), state)
		}
		stop := followSize(d, o.Stdin)
		defer stop()
	}
	streams := procdir.Streams{Stdout: o.Stdout, Stderr: o.Stderr, Attached: o.Attached}
	if o.Stdin != nil {
		streams.Stdin = o.Stdin
	}
	if err := d.Attach(ctx, streams); err != nil {
		return 0, err
	}
	return d.Wait(ctx)
}

// followSize sends the terminal's size now and on every SIGWINCH.
func followSize(d procdir.Dir, tty *os.File) (stop func()) {
	send := func() {
		if w, h, err := term.GetSize(int(tty.Fd())); err == nil {
			_ = d.SetWindowSize(procdir.WindowSize{Columns: uint16(w), Rows: uint16(h)})
		}
	}
	send()
	winch := make(chan os.Signal, 1)
	signal.Notify(winch, unix.SIGWINCH)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-winch:
				send()
			case <-done:
				return
			}
		}
	}()
	return func() { signal.Stop(winch); close(done) }
}
