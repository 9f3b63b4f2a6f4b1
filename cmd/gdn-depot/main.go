// Command gdn-depot is gdn's bundle store: it writes one OCI bundle per
// container (config.json) and keeps the container's properties, under
// --depot. The logic is in pkg/depot and pkg/bundle; this file only wires
// the commands.
package main

import (
	"os"

	"github.com/gdn-dev/gdn/pkg/cli"
	"github.com/gdn-dev/gdn/pkg/depot"
	"github.com/spf13/cobra"
)

// envDepot overrides the default of --depot.
const envDepot = "GDN_DEPOT"

func main() {
	os.Exit(cli.Execute(newRootCmd()))
}

// newRootCmd builds the command tree; tests run it in-process.
func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "gdn-depot",
		Short: "Store one OCI bundle and its properties per container",
		Long: "gdn-depot keeps $depot/$handle/config.json (the container's OCI bundle) and\n" +
			"$depot/$handle/properties.json. Output is JSON when stdout is not a terminal.",
		Example: "  gdn-rootfs create docker://127.0.0.1:5000/busybox:latest c1 | gdn-depot create c1 --memory-limit 64M\n" +
			"  gdn-depot show c1\n  gdn-depot destroy c1",
	}
	defaultDir := os.Getenv(envDepot)
	if defaultDir == "" {
		defaultDir = depot.DefaultDir
	}
	root.PersistentFlags().String("depot", defaultDir, "depot directory (env "+envDepot+")")
	root.AddCommand(newCreateCmd(), newListCmd(), newShowCmd(), newDestroyCmd(), newPropsCmd())
	return root
}
