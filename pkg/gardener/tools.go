package gardener

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/gdn-dev/gdn/pkg/cli"
	"github.com/gdn-dev/gdn/pkg/spawn"
)

// Tool is one binary the gardener drives: one of gdn's tools or a plugin
// that speaks the same contract, with the arguments that go before every
// subcommand (global flags, plugin extra args).
type Tool struct {
	Name string // for messages: "gdn-rootfs", "image plugin", ...
	Path string
	Args []string
	// CreateArgs go right after an image plugin's "create" (gdn-rootfs:
	// --insecure-registry H:P), InitArgs after gdn-rootfs's "init-store"
	// (--store-size-bytes N): flags the other commands do not take.
	CreateArgs, InitArgs []string
	// Observe, if set, is told about every run of the tool: its
	// subcommand, how long it took and its error (nil on success).
	Observe func(tool, command string, d time.Duration, err error)
	// Spawner, if set, starts the runs (see package spawn): gdn-server's
	// own fork and exec cost grows with its open files, a few per live
	// process.
	Spawner *spawn.Spawner
	// Env is added to this process's environment for every run.
	Env []string
}

// env is the environment of a run of t.
func (t Tool) env() []string {
	return append(os.Environ(), t.Env...)
}

// ToolFor returns the tool named name in binDir, with args.
func ToolFor(binDir, name string, args ...string) Tool {
	return Tool{Name: name, Path: filepath.Join(binDir, name), Args: args}
}

// call is one run of a tool.
type call struct {
	args   []string
	stdin  io.Reader
	extra  []*os.File // become fds 3, 4, ...
	stdout io.Writer  // nil: collected and returned
}

// run runs t with c and returns its stdout. A non-zero exit becomes the
// *cli.ToolError the tool printed (its kind survives errkind.Of), so the
// server maps a tool's failure to a Garden error in one place.
func (t Tool) run(ctx context.Context, log *slog.Logger, c call) ([]byte, error) {
	start := time.Now()
	argv := append(append([]string{}, t.Args...), c.args...)
	var out, errb bytes.Buffer
	stdout := io.Writer(&out)
	if c.stdout != nil {
		stdout = c.stdout
	}
	var (
		failed bool   // the tool ran and did not exit 0
		status string // how it ended, for a tool that printed no error
		cpu    time.Duration
		err    error
	)
	if t.Spawner != nil {
		var st spawn.State
		st, err = t.spawn(ctx, argv, c, stdout, &errb)
		failed, status, cpu = err == nil && !st.Success(), st.String(), st.User+st.System
	} else {
		var ps *os.ProcessState
		ps, err = t.exec(ctx, argv, c, stdout, &errb)
		if ps != nil {
			cpu = ps.UserTime() + ps.SystemTime()
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				failed, status, err = true, ee.Error(), nil
			}
		}
	}
	d := time.Since(start)
	// The CPU a run cost (its own and what it waited for) is logged
	// beside its wall time: under load the two part, and the CPU is what
	// adds up.
	if failed {
		te := cli.ParseToolError(t.Name, errb.Bytes(), status)
		te.Command = subcommand(c.args)
		err = te
	} else if err != nil {
		err = fmt.Errorf("%s: %w", t.Name, err)
	}
	log.Debug("ran tool", "cmd", t.Name, "args", c.args, "duration", d, "cpu", cpu, "error", err)
	if t.Observe != nil {
		t.Observe(t.Name, subcommand(c.args), d, err)
	}
	if err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// cancelGrace is how long a tool whose request was cancelled has, after
// its interrupt, before it is killed (and how long its output may stay open
// after it exited).
const cancelGrace = 10 * time.Second

// exec runs the tool as a child of this process.
func (t Tool) exec(ctx context.Context, argv []string, c call, stdout, stderr io.Writer) (*os.ProcessState, error) {
	cmd := exec.CommandContext(ctx, t.Path, argv...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = c.stdin, stdout, stderr
	cmd.ExtraFiles = c.extra
	cmd.Env = t.env()
	// A tool in the middle of a create must finish or fail on its own
	// terms; a cancelled request gets an interrupt and some time.
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = cancelGrace
	err := cmd.Run()
	return cmd.ProcessState, err
}

// spawn runs the tool through t.Spawner, with exec's behaviour: the same
// files, environment, cancellation and grace.
func (t Tool) spawn(ctx context.Context, argv []string, c call, stdout, stderr io.Writer) (spawn.State, error) {
	var opened, theirs []*os.File
	defer func() {
		for _, f := range append(opened, theirs...) {
			f.Close()
		}
	}()
	pipe := func() (r, w *os.File, err error) {
		if r, w, err = os.Pipe(); err == nil {
			opened = append(opened, r, w)
		}
		return r, w, err
	}
	var copies sync.WaitGroup
	cmd := spawn.Cmd{Path: t.Path, Args: append([]string{t.Path}, argv...), Env: t.env(), ExtraFiles: c.extra}
	switch in := c.stdin.(type) {
	case nil:
	case *os.File:
		cmd.Stdin = in
	default:
		r, w, err := pipe()
		if err != nil {
			return spawn.State{}, err
		}
		cmd.Stdin, theirs = r, append(theirs, r)
		// Not waited for: a tool that does not read all of its input
		// ends the copy with EPIPE when it exits.
		go func() {
			_, _ = io.Copy(w, in)
			w.Close()
		}()
	}
	var outs []*os.File
	for _, dst := range []struct {
		w  io.Writer
		to **os.File
	}{{stdout, &cmd.Stdout}, {stderr, &cmd.Stderr}} {
		r, w, err := pipe()
		if err != nil {
			return spawn.State{}, err
		}
		*dst.to, theirs, outs = w, append(theirs, w), append(outs, r)
		copies.Add(1)
		go func(w io.Writer) {
			defer copies.Done()
			_, _ = io.Copy(w, r)
		}(dst.w)
	}
	p, err := t.Spawner.Start(cmd)
	// The run has its ends now; only its copies keep the pipes open.
	for _, f := range theirs {
		f.Close()
	}
	theirs = nil
	if err != nil {
		return spawn.State{}, err
	}
	stop := context.AfterFunc(ctx, func() {
		_ = p.Signal(syscall.SIGINT)
		time.AfterFunc(cancelGrace, func() { _ = p.Signal(syscall.SIGKILL) })
	})
	defer stop()
	st, err := p.Wait()
	// Output still open after the exit (a child of the tool holding
	// it) is cut off after the grace, as exec's WaitDelay does.
	copied := make(chan struct{})
	go func() { copies.Wait(); close(copied) }()
	select {
	case <-copied:
	case <-time.After(cancelGrace):
		for _, r := range outs {
			r.Close()
		}
		<-copied
	}
	return st, err
}

// subcommand is the command of a tool run: its first argument that is not
// a flag ("create", "stats"), or a plugin's --action value.
func subcommand(args []string) string {
	for i, a := range args {
		if a == "--action" && i+1 < len(args) {
			return args[i+1]
		}
		if v, ok := strings.CutPrefix(a, "--action="); ok {
			return v
		}
	}
	for _, a := range args {
		if !strings.HasPrefix(a, "-") {
			return a
		}
	}
	return ""
}
