package main

import (
	"os"

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
	var existed bool
	if detach, _ := cmd.Flags().GetBool("detach-devices"); detach {
		existed, err = n.DownDetached(cmd.Context(), h, reaperArgv(cmd))
	} else {
		existed, err = n.Down(cmd.Context(), h)
	}
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

// reaperArgv runs this binary's reap-devices with the networker's flags,
// for a detached down.
func reaperArgv(cmd *cobra.Command) []string {
	self, err := os.Executable()
	if err != nil {
		self = os.Args[0]
	}
	argv := []string{self}
	for _, name := range []string{"state-dir", "network-pool", "port-pool-start", "port-pool-size", "nft-table", "log-file", "log-level"} {
		if f := cmd.Flags().Lookup(name); f != nil && f.Value.String() != "" {
			argv = append(argv, "--"+name, f.Value.String())
		}
	}
	return append(argv, "reap-devices")
}

// reapCmd is the child of a detached down: it deletes the devices of one
// draining state, holding the locks it inherited (files 3 and 4) until it
// exits.
func reapCmd() *cobra.Command {
	return &cobra.Command{
		Use:    "reap-devices DRAINING_STATE",
		Short:  "Delete the devices a detached down left (run by down --detach-devices)",
		Hidden: true,
		Args:   cli.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			n, err := newNetworker(cmd)
			if err != nil {
				return err
			}
			if err := n.Reap(args[0]); err != nil {
				cli.Logger(cmd).Error("detached down: devices left for cleanup", "state", args[0], "error", err)
				return err
			}
			return nil
		},
	}
}
