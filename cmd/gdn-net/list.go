package main

import (
	"github.com/gdn-dev/gdn/pkg/cli"
	"github.com/spf13/cobra"
)

func listCmd() *cobra.Command {
	return &cobra.Command{
		Use: "list", Short: "List the handles that have a network", Example: "  gdn-net list",
		Args: cli.ExactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			n, err := newNetworker(cmd)
			if err != nil {
				return err
			}
			hs, err := n.List()
			if err != nil {
				return err
			}
			return cli.Print(cmd, map[string]any{"handles": hs}, nil)
		},
	}
}

func statsCmd() *cobra.Command {
	return &cobra.Command{
		Use: "stats HANDLE", Short: "Print the bytes a container received and sent", Example: "  gdn-net stats c1",
		Args:              cli.HandleArgs(1, 1),
		ValidArgsFunction: cli.Complete(netHandles),
		RunE: func(cmd *cobra.Command, args []string) error {
			n, err := newNetworker(cmd)
			if err != nil {
				return err
			}
			rx, tx, err := n.Stats(args[0])
			if err != nil {
				return err
			}
			return cli.Print(cmd, map[string]any{"handle": args[0], "rx_bytes": rx, "tx_bytes": tx}, nil)
		},
	}
}

func cleanupCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "cleanup",
		Short: "Remove networks of containers that are gone or whose up died, and what no state names; print what went",
		Long: "A container is gone when its namespace is (the veth pair went with it). Devices marked as this\n" +
			"networker's (alias \"gdn-net <table> ...\"), chains and rules of its nftables table, and pool\n" +
			"allocations that no state in --state-dir names are removed too. Networkers with their own\n" +
			"--state-dir and --nft-table leave each other alone.",
		Example: "  gdn-net cleanup",
		Args:    cli.ExactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			n, err := newNetworker(cmd)
			if err != nil {
				return err
			}
			removed, err := n.Cleanup(cmd.Context())
			if err != nil {
				return err
			}
			return cli.Print(cmd, map[string]any{"removed": removed}, nil)
		},
	}
}
