package main

import (
	"github.com/gdn-dev/gdn/pkg/cli"
	"github.com/gdn-dev/gdn/pkg/network"
	"github.com/spf13/cobra"
)

func netInCmd() *cobra.Command {
	var hostPort, containerPort uint32
	cmd := &cobra.Command{
		Use:               "net-in HANDLE [--host-port H] [--container-port C]",
		Short:             "Map a host port (0: one from the pool) to a container port (0: the same)",
		Example:           "  gdn-net net-in c1 --container-port 8080",
		Args:              cli.HandleArgs(1, 1),
		ValidArgsFunction: cli.Complete(netHandles),
		RunE: func(cmd *cobra.Command, args []string) error {
			n, err := newNetworker(cmd)
			if err != nil {
				return err
			}
			m, err := n.NetIn(args[0], hostPort, containerPort)
			if err != nil {
				return err
			}
			return cli.Print(cmd, network.NetInOutput(m), nil)
		},
	}
	cmd.Flags().Uint32Var(&hostPort, "host-port", 0, "host port (0: the least recently used of the pool)")
	cmd.Flags().Uint32Var(&containerPort, "container-port", 0, "container port (0: the host port)")
	return cmd
}
