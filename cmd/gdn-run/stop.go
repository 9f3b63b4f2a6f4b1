package main

import (
	"fmt"
	"io"

	"github.com/gdn-dev/gdn/pkg/cli"
	"github.com/spf13/cobra"
)

func stopCmd() *cobra.Command {
	var kill bool
	cmd := &cobra.Command{
		Use:               "stop HANDLE",
		Short:             "Stop every process but the init (TERM, up to 10 s, then KILL) and mark the container stopped",
		Example:           "  gdn-run stop c1\n  gdn-run stop --kill c1",
		Args:              cli.HandleArgs(1, 1),
		ValidArgsFunction: cli.Complete(runHandles),
		RunE: func(cmd *cobra.Command, args []string) error {
			rt, err := newRuntime(cmd, args[0])
			if err != nil {
				return err
			}
			if err := rt.Stop(cmd.Context(), args[0], kill); err != nil {
				return err
			}
			return cli.Print(cmd, map[string]any{"handle": args[0], "stopped": true}, func(w io.Writer) error {
				_, err := fmt.Fprintf(w, "stopped %s\n", args[0])
				return err
			})
		},
	}
	cmd.Flags().BoolVar(&kill, "kill", false, "send KILL at once, without TERM and the grace period")
	return cmd
}

func deleteCmd() *cobra.Command {
	return &cobra.Command{
		Use:               "delete HANDLE",
		Short:             "Kill a container's init, wait for it, and remove its cgroup and state (idempotent)",
		Example:           "  gdn-run delete c1",
		Args:              cli.HandleArgs(1, 1),
		ValidArgsFunction: cli.Complete(runHandles),
		RunE: func(cmd *cobra.Command, args []string) error {
			rt, err := newRuntime(cmd, args[0])
			if err != nil {
				return err
			}
			existed, err := rt.Delete(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return cli.Print(cmd, map[string]any{"handle": args[0], "deleted": existed}, func(w io.Writer) error {
				if !existed {
					_, err := fmt.Fprintf(w, "%s: nothing to delete\n", args[0])
					return err
				}
				_, err := fmt.Fprintf(w, "deleted %s\n", args[0])
				return err
			})
		},
	}
}
