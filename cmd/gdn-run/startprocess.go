package main

import (
	"fmt"
	"os"

	"github.com/gdn-dev/gdn/pkg/cli"
	"github.com/gdn-dev/gdn/pkg/dadoo"
	"github.com/gdn-dev/gdn/pkg/errkind"
	"github.com/gdn-dev/gdn/pkg/runtime"
	"github.com/spf13/cobra"
)

// startProcessCmd is dadoo's starter: it starts a prepared process through
// libcontainer and exits, leaving the process to dadoo (a subreaper). Not
// for operators; hidden from help.
func startProcessCmd() *cobra.Command {
	return &cobra.Command{
		Use:    "start-process HANDLE",
		Short:  "Start a prepared process (JSON on stdin) with stdio on fds 3-5, or a console socket on fd 3",
		Hidden: true,
		Args:   cli.HandleArgs(1, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return start(cmd, args[0], func(rt *runtime.Runtime, p *runtime.Prepared, pio runtime.ProcessIO) (int, error) {
				return rt.StartProcess(args[0], p, pio)
			})
		},
	}
}

// startPeaCmd is dadoo's starter for a pea: it creates the pea's runtime
// container from its process directory and starts it. Hidden.
func startPeaCmd() *cobra.Command {
	return &cobra.Command{
		Use:    "start-pea PEA_ID PROCESS_DIR",
		Short:  "Create and start a pea from its process directory, stdio on fds 3-5 or a console socket on fd 3",
		Hidden: true,
		Args:   cli.HandleArgs(2, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return start(cmd, args[0], func(rt *runtime.Runtime, _ *runtime.Prepared, pio runtime.ProcessIO) (int, error) {
				return rt.StartPea(args[0], args[1], pio)
			})
		},
	}
}

// start is what both starters share: decode the prepared process, open
// the runtime, start with the inherited stdio, print the pid for dadoo.
func start(cmd *cobra.Command, h string, run func(*runtime.Runtime, *runtime.Prepared, runtime.ProcessIO) (int, error)) error {
	var p runtime.Prepared
	if ok, err := cli.DecodeStdin(cmd, &p); err != nil || !ok || p.Process == nil {
		return fmt.Errorf("no prepared process on stdin: %w", errkind.InvalidSpec)
	}
	rt, err := newRuntime(cmd, h)
	if err != nil {
		return err
	}
	pid, err := run(rt, &p, inheritedIO(p.Process.Terminal))
	if err != nil {
		return err
	}
	return cli.Print(cmd, dadoo.StartResult{Pid: pid}, nil)
}

// inheritedIO is the stdio dadoo passes its starter: fds 3-5, or a console
// socket on fd 3 for a terminal.
func inheritedIO(tty bool) runtime.ProcessIO {
	if tty {
		return runtime.ProcessIO{ConsoleSocket: os.NewFile(3, "console")}
	}
	return runtime.ProcessIO{Stdin: os.NewFile(3, "stdin"), Stdout: os.NewFile(4, "stdout"), Stderr: os.NewFile(5, "stderr")}
}
