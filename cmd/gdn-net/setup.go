package main

import (
	"fmt"

	"github.com/gdn-dev/gdn/pkg/cli"
	"github.com/gdn-dev/gdn/pkg/errkind"
	"github.com/gdn-dev/gdn/pkg/network/link"
	"github.com/spf13/cobra"
)

func setupCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "setup",
		Short:   "Create the nftables table, chains and base rules, and turn on IPv4 forwarding (idempotent)",
		Long:    "up does the same where something is missing; setup lets an operator do it once, ahead of time.",
		Example: "  gdn-net setup\n  gdn-net --allow-host-access setup",
		Args:    cli.ExactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			n, err := newNetworker(cmd)
			if err != nil {
				return err
			}
			if err := n.Setup(); err != nil {
				return err
			}
			table, _ := cmd.Flags().GetString("nft-table")
			return cli.Print(cmd, map[string]string{"table": "ip " + table}, nil)
		},
	}
}

func bandwidthCmd() *cobra.Command {
	var rate, burst uint64
	cmd := &cobra.Command{
		Use:   "bandwidth HANDLE --rate BYTES_PER_S --burst BYTES",
		Short: "Limit a container's traffic, each way, to a rate (both 0: no limit)",
		Long: "Traffic to the container is shaped on the host end of its veth; traffic from it is redirected\n" +
			"to an ifb device (w<id>-i) and shaped there. The burst must hold a full frame (MTU + 14).",
		Example:           "  gdn-net bandwidth c1 --rate 1048576 --burst 65536\n  gdn-net bandwidth c1 --rate 0 --burst 0",
		Args:              cli.HandleArgs(1, 1),
		ValidArgsFunction: cli.Complete(netHandles),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !cmd.Flags().Changed("rate") || !cmd.Flags().Changed("burst") {
				return fmt.Errorf("bandwidth needs --rate and --burst: %w", errkind.Usage)
			}
			n, err := newNetworker(cmd)
			if err != nil {
				return err
			}
			st, err := n.SetBandwidth(args[0], link.Bandwidth{Rate: rate, Burst: burst})
			if err != nil {
				return err
			}
			return cli.Print(cmd, map[string]any{"handle": st.Handle, "bandwidth_limits": st.Bandwidth}, nil)
		},
	}
	cmd.Flags().Uint64Var(&rate, "rate", 0, "bytes per second")
	cmd.Flags().Uint64Var(&burst, "burst", 0, "bytes let through at once")
	return cmd
}
