package main

import (
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/gdn-dev/gdn/pkg/cli"
	"github.com/gdn-dev/gdn/pkg/runtime"
	"github.com/spf13/cobra"
)

func stateCmd() *cobra.Command {
	return &cobra.Command{
		Use:               "state HANDLE",
		Short:             "Show a container's runtime state",
		Example:           "  gdn-run state c1",
		Args:              cli.HandleArgs(1, 1),
		ValidArgsFunction: cli.Complete(runHandles),
		RunE: func(cmd *cobra.Command, args []string) error {
			rt, err := newRuntime(cmd, args[0])
			if err != nil {
				return err
			}
			st, err := rt.State(args[0])
			if err != nil {
				return err
			}
			return cli.Print(cmd, st, func(w io.Writer) error {
				return printStates(w, []runtime.State{st})
			})
		},
	}
}

func listCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "list",
		Short:   "List the containers in the runtime root",
		Example: "  gdn-run list\n  gdn-run list | jq -r '.containers[].handle'",
		Args:    cli.ExactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			rt, err := newRuntime(cmd, "")
			if err != nil {
				return err
			}
			states, err := rt.List()
			if err != nil {
				return err
			}
			return cli.Print(cmd, map[string]any{"containers": states}, func(w io.Writer) error {
				return printStates(w, states)
			})
		},
	}
}

func printStates(w io.Writer, states []runtime.State) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "HANDLE\tPID\tSTATUS\tSTOPPED\tCREATED\tBUNDLE")
	for _, s := range states {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%v\t%s\t%s\n", s.Handle, s.Pid, s.Status, s.Stopped, s.Created.Format("2006-01-02 15:04:05"), s.Bundle)
	}
	return tw.Flush()
}
