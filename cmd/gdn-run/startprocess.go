package main

import (
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
			var p runtime.Prepared
			if ok, err := cli.DecodeStdin(cmd, &p); err != nil || !ok || p.Process == nil {
				return errkind.InvalidSpec
			}
			pio := runtime.ProcessIO{ConsoleSocket: os.NewFile(3, "console")}
			if !p.Process.Terminal {
				pio = runtime.ProcessIO{Stdin: os.NewFile(3, "stdin"), Stdout: os.NewFile(4, "stdout"), Stderr: os.NewFile(5, "stderr")}
			}
			rt, err := newRuntime(cmd, args[0])
			if err != nil {
				return err
			}
			pid, err := rt.StartProcess(args[0], &p, pio)
			if err != nil {
				return err
			}
			return cli.Print(cmd, dadoo.StartResult{Pid: pid}, nil)
		},
	}
}
