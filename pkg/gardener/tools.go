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
	"time"

	"github.com/gdn-dev/gdn/pkg/cli"
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
	cmd := exec.CommandContext(ctx, t.Path, append(append([]string{}, t.Args...), c.args...)...)
	var out, errb bytes.Buffer
	cmd.Stdin = c.stdin
	cmd.Stdout = &out
	if c.stdout != nil {
		cmd.Stdout = c.stdout
	}
	cmd.Stderr = &errb
	cmd.ExtraFiles = c.extra
	// A tool in the middle of a create must finish or fail on its own
	// terms; a cancelled request gets a TERM and some time.
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 10 * time.Second
	err := cmd.Run()
	d := time.Since(start)
	// The CPU a run cost (its own and what it waited for), beside its
	// wall time: under load the two part, and the CPU is what adds up.
	var cpu time.Duration
	if ps := cmd.ProcessState; ps != nil {
		cpu = ps.UserTime() + ps.SystemTime()
	}
	log.Debug("ran tool", "cmd", t.Name, "args", c.args, "duration", d, "cpu", cpu, "error", err)
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		te := cli.ParseToolError(t.Name, errb.Bytes(), err.Error())
		te.Command = subcommand(c.args)
		err = te
	case err != nil:
		err = fmt.Errorf("%s: %w", t.Name, err)
	}
	if t.Observe != nil {
		t.Observe(t.Name, subcommand(c.args), d, err)
	}
	if err != nil {
		return nil, err
	}
	return out.Bytes(), nil
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
