// Command gdn-server serves the Garden HTTP API and carries out each call
// by running gdn's tools (gdn-rootfs, gdn-run, gdn-net), or plugins that
// speak their contracts; the depot's steps it does with gdn-depot's own
// code, in its own process.
package main

import (
	"os"

	"github.com/gdn-dev/gdn/pkg/cli"
	"github.com/gdn-dev/gdn/pkg/spawn"
	"github.com/spf13/cobra"
)

func main() {
	os.Exit(cli.Execute(newRootCmd()))
}

// newRootCmd builds gdn-server: serving is the root command's own action,
// check a subcommand.
func newRootCmd() *cobra.Command {
	var o options
	root := &cobra.Command{
		Use:   "gdn-server",
		Short: "Garden API server (unix socket or TCP) in front of gdn's tools",
		Example: "  gdn-server --default-rootfs /var/lib/gdn/rootfs\n" +
			"  gdn-server --bind-ip 127.0.0.1 --bind-port 7777 --depot /var/run/gdn/depot --max-containers 250\n" +
			"  gdn-server --config /etc/gdn/server.ini",
		Args: cli.ExactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.loadConfigFile(cmd); err != nil {
				return err
			}
			return serve(cmd, &o)
		},
	}
	o.register(root)
	root.AddCommand(checkCommand(), spawnHelperCommand())
	cli.SetLogLevelDefault(root, "info")
	return root
}

// spawnHelperCmd is the hidden command of the helper that runs the
// server's tools (package spawn); the server starts it, with its socket
// as fd 3.
const spawnHelperCmd = "spawn-helper"

func spawnHelperCommand() *cobra.Command {
	return &cobra.Command{
		Use:    spawnHelperCmd,
		Short:  "Run the server's tools for it (started by gdn-server, not by hand)",
		Hidden: true,
		Args:   cli.ExactArgs(0),
		RunE: func(*cobra.Command, []string) error {
			return spawn.Serve(os.NewFile(3, "spawn"))
		},
	}
}
