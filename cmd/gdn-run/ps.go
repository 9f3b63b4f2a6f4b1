package main

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/gdn-dev/gdn/pkg/cli"
	"github.com/spf13/cobra"
)

func psCmd() *cobra.Command {
	return &cobra.Command{
		Use:               "ps HANDLE",
		Short:             "List the host pids of a container's processes",
		Example:           "  gdn-run ps c1",
		Args:              cli.HandleArgs(1, 1),
		ValidArgsFunction: cli.Complete(runHandles),
		RunE: func(cmd *cobra.Command, args []string) error {
			rt, err := newRuntime(cmd, args[0])
			if err != nil {
				return err
			}
			pids, err := rt.Processes(args[0])
			if err != nil {
				return err
			}
			out := map[string]any{"handle": args[0], "pids": pids}
			return cli.Print(cmd, out, func(w io.Writer) error {
				fmt.Fprintln(w, "PID\tCOMMAND")
				for _, pid := range pids {
					fmt.Fprintf(w, "%d\t%s\n", pid, cmdline(pid))
				}
				return nil
			})
		},
	}
}

// cmdline is a best-effort command line for display.
func cmdline(pid int) string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err != nil {
		return "?"
	}
	return strings.TrimSpace(strings.ReplaceAll(string(b), "\x00", " "))
}
