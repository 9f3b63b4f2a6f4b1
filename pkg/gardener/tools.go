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
	log.Debug("ran tool", "cmd", t.Name, "args", c.args, "duration", time.Since(start), "error", err)
	if err == nil {
		return out.Bytes(), nil
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return nil, cli.ParseToolError(t.Name, errb.Bytes(), err.Error())
	}
	return nil, fmt.Errorf("%s: %w", t.Name, err)
}
