package main

import (
	"io"

	"github.com/gdn-dev/gdn/pkg/cli"
	"github.com/gdn-dev/gdn/pkg/hostcheck"
	"github.com/gdn-dev/gdn/pkg/tag"
	"github.com/spf13/cobra"
)

// defaultNetState is gdn-net's default state directory
// (network.DefaultStateDir, not imported for the same reason as
// defaultStore).
const defaultNetState = "/var/lib/gdn/net"

// checkCommand is `gdn-server check`: it takes the server's own flags, so
// that the directories checked are the ones the server would use.
func checkCommand() *cobra.Command {
	var o options
	cmd := &cobra.Command{
		Use:   "check [gdn-server flags]",
		Short: "Say what this host offers gdn, and how to fix what it lacks (exit 1 on a blocker)",
		Example: "  gdn-server check\n" +
			"  gdn-server check --tag t1 --init-bin /var/lib/gdn/bin/gdn-init\n" +
			"  gdn-server check -o json | jq '.checks[] | select(.status != \"ok\")'",
		Args: cli.ExactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.loadConfigFile(cmd); err != nil {
				return err
			}
			if err := o.resolveInstance(); err != nil {
				return err
			}
			initBin := o.initBin
			if initBin == "" {
				initBin = o.bin("gdn-init")
			}
			r := hostcheck.Run(hostcheck.Config{
				DepotDir: o.depot, StoreDir: o.store, InitBin: initBin,
				NetStateDir: envOr("GDN_NET_STATE", tag.Scoped(defaultNetState, o.tag)),
			})
			if err := cli.Print(cmd, r, func(w io.Writer) error { return r.WriteTable(w) }); err != nil {
				return err
			}
			return r.Err()
		},
	}
	o.register(cmd)
	return cmd
}
