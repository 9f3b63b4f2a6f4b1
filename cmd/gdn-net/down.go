package main

import (
	"github.com/gdn-dev/gdn/pkg/cli"
	"github.com/spf13/cobra"
)

func downCmd() *cobra.Command {
	return &cobra.Command{
		Use:               "down HANDLE",
		Short:             "Remove a container's network: devices, NAT, IP, ports (idempotent)",
		Example:           "  gdn-net down c1",
		Args:              cli.HandleArgs(1, 1),
		ValidArgsFunction: cli.Complete(netHandles),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runDown(cmd, args[0])
		},
	}
}

func runDown(cmd *cobra.Command, h string) error {
	n, err := newNetworker(cmd)
	if err != nil {
		return err
	}
	existed, err := n.Down(cmd.Context(), h)
	if err != nil {
		return err
	}
	return cli.Print(cmd, map[string]any{"handle": h, "down": existed}, nil)
}

func showCmd() *cobra.Command {
	return &cobra.Command{
		Use:               "show HANDLE",
		Short:             "Show a container's network",
		Example:           "  gdn-net show c1",
		Args:              cli.HandleArgs(1, 1),
		ValidArgsFunction: cli.Complete(netHandles),
		RunE: func(cmd *cobra.Command, args []string) error {
			n, err := newNetworker(cmd)
			if err != nil {
				return err
			}
			st, err := n.Show(args[0])
			if err != nil {
				return err
			}
			return cli.Print(cmd, st, nil)
		},
	}
}
