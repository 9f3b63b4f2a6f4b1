package main

import (
	"encoding/json"
	"os/signal"
	"time"

	"github.com/gdn-dev/gdn/pkg/cli"
	"github.com/gdn-dev/gdn/pkg/runtime"
	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"
)

func eventsCmd() *cobra.Command {
	var interval time.Duration
	cmd := &cobra.Command{
		Use:               "events HANDLE",
		Short:             "Stream a container's events (oom, stats, exit), one a line (JSON, or text on a terminal), until its init exits",
		Example:           "  gdn-run events c1\n  gdn-run events --stats-interval 5s c1 | jq -c 'select(.type==\"oom\")'",
		Args:              cli.HandleArgs(1, 1),
		ValidArgsFunction: cli.Complete(runHandles),
		RunE: func(cmd *cobra.Command, args []string) error {
			rt, err := newRuntime(cmd, args[0])
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), unix.SIGINT, unix.SIGTERM)
			defer stop()
			w, asJSON := cmd.OutOrStdout(), cli.JSONOutput(cmd)
			enc := json.NewEncoder(w)
			return rt.Events(ctx, args[0], interval, func(e runtime.Event) error {
				if !asJSON {
					return cli.WriteTextLine(w, e)
				}
				return enc.Encode(e)
			})
		},
	}
	cmd.Flags().DurationVar(&interval, "stats-interval", 0, "also emit a stats event this often (0: never)")
	return cmd
}

func statsCmd() *cobra.Command {
	return &cobra.Command{
		Use:               "stats HANDLE",
		Short:             "Print a container's memory, cpu and pids usage from its cgroup",
		Example:           "  gdn-run stats c1 | jq .memory.total_usage_toward_limit",
		Args:              cli.HandleArgs(1, 1),
		ValidArgsFunction: cli.Complete(runHandles),
		RunE: func(cmd *cobra.Command, args []string) error {
			rt, err := newRuntime(cmd, args[0])
			if err != nil {
				return err
			}
			s, err := rt.Stats(args[0])
			if err != nil {
				return err
			}
			return cli.Print(cmd, s, nil)
		},
	}
}
