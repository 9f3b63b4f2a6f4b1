// Command gdn-depot is gdn's bundle store: it writes one OCI bundle per
// container (config.json) and keeps the container's properties, under
// --depot. The logic is in pkg/depot and pkg/bundle; this file only wires
// the commands.
package main

import (
	"os"

	"github.com/gdn-dev/gdn/pkg/cli"
	"github.com/gdn-dev/gdn/pkg/depot"
	"github.com/gdn-dev/gdn/pkg/tag"
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
	// An invalid tag only shapes this default; every command refuses it
	// (PersistentPreRunE).
	defaultDir := os.Getenv(envDepot)
	if defaultDir == "" {
		defaultDir = tag.Scoped(depot.DefaultDir, os.Getenv(tag.Env))
	}
	root.PersistentFlags().String("depot", defaultDir,
		"depot directory (env "+envDepot+"; default "+depot.DefaultDir+", or "+depot.DefaultDir+"-TAG with env "+tag.Env+")")
	root.PersistentPreRunE = func(*cobra.Command, []string) error {
		_, err := tag.FromEnv()
		return err
	}
	root.AddCommand(newCreateCmd(), newListCmd(), newShowCmd(), newDestroyCmd(), newCleanupCmd(), newPropsCmd())
	return root
}
